package fixes

import (
	"net"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planTLS: https:// to a port that speaks plain HTTP becomes http://; an
// https upstream named by host name gets SNI (nginx sends none by default,
// and many TLS servers refuse a handshake without it).
//
// Facts read besides the documented ones: "speaks" = "http" when a probe
// found plain HTTP at the target.
func planTLS(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != "tls-handshake" {
		return nil
	}
	p, ok := passFor(o, c)
	if !ok || (p.Scheme != "https" && p.Scheme != "grpcs") {
		return nil
	}
	var out []plan
	plain := c.Facts["speaks"] == "http"
	if o != nil && o.Snapshot != nil {
		if r, ok := o.Snapshot.Probes[c.Target]; ok && r.HTTP != nil && r.HTTP.Protocol == "http" && r.HTTP.Status > 0 {
			plain = true
		}
	}
	if plain && p.Scheme == "https" {
		file, line, ok := parsePos(p.At.String())
		if lines, err := readLines(file); ok && err == nil {
			old := lineBody(lines, line)
			if strings.Count(old, "https://") == 1 {
				out = append(out, plan{
					Fix: Fix{
						ID:    fixID(c.ID, c.Target, "http"),
						Title: "Speak plain HTTP to " + c.Target + ": it answers HTTP, not TLS",
						Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
						Warning: "Traffic to the backend is then unencrypted; right on loopback or a private " +
							"network, wrong across an untrusted one",
					},
					edits:      []Edit{{Path: file, Line: line, Old: old, New: strings.Replace(old, "https://", "http://", 1)}},
					nginxEdits: true, revertible: true,
				})
			}
		}
	}
	mod := p.Module
	host := c.Target
	if h, _, err := net.SplitHostPort(c.Target); err == nil {
		host = h
	}
	sni, at := settingAt(o, c, mod+"_ssl_server_name")
	if !plain && net.ParseIP(strings.Trim(host, "[]")) == nil && (len(sni) == 0 || sni[0] != "on") {
		if ed, ok := setDirective(o, c, at, mod+"_ssl_server_name", "on"); ok {
			out = append(out, plan{
				Fix: Fix{
					ID:    fixID(c.ID, c.Target, "sni"),
					Title: "Send SNI (" + mod + "_ssl_server_name on) to " + host,
					Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
				},
				edits: []Edit{ed}, nginxEdits: true, revertible: true,
			})
		}
	}
	return out
}
