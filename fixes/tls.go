package fixes

import (
	"fmt"
	"net"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planTLS: https:// to a port that speaks plain HTTP becomes http://; an
// https upstream named by host name gets SNI (nginx sends none by default,
// and many TLS servers refuse a handshake without it).
//
// The probe's Speaks ("http", "tls") says what the port really speaks; a
// "speaks" fact does the same for a cause built without a probe.
func planTLS(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseTLSHandshake {
		return nil
	}
	p, ok := passFor(o, c)
	if !ok {
		return nil
	}
	var out []plan
	speaks := c.Facts.Speaks
	if o != nil && o.Snapshot != nil {
		if r, ok := o.Snapshot.Probes[c.Target]; ok && r.HTTP != nil && r.HTTP.Speaks != "" {
			speaks = r.HTTP.Speaks
		}
	}
	// The scheme on the pass line is the whole fix when the port speaks the
	// other protocol: https:// to plain HTTP, or http:// to a TLS port.
	from, to := "", ""
	switch {
	case speaks == "http" && p.Scheme == "https":
		from, to = "https://", "http://"
	case speaks == "tls" && p.Scheme == "http":
		from, to = "http://", "https://"
	case speaks == "tls" && p.Scheme == "grpc":
		from, to = "grpc://", "grpcs://"
	}
	if from != "" {
		if pp, ok := directiveAt(filesOf(o), p.At.String(), isPass, namesTargetArg(c)); ok && len(pp.D.Args) > 0 && strings.HasPrefix(pp.D.Args[0], from) {
			warning := ""
			if to == "http://" {
				warning = "Traffic to the backend is then unencrypted; right on loopback or a private " +
					"network, wrong across an untrusted one"
			}
			out = append(out, plan{
				Fix: Fix{
					ID:      fixID(c.ID, c.Target, strings.TrimSuffix(to, "://")),
					Title:   fmt.Sprintf("Use %s for %s: the port speaks %s", to, c.Target, map[string]string{"http": "plain HTTP", "tls": "TLS"}[speaks]),
					Undo:    "ngxdoctor undo restores the file byte for byte and reloads nginx",
					Warning: warning,
				},
				edits:      []Edit{pp.Tree.setArg(pp.File, pp.D, 0, to+strings.TrimPrefix(pp.D.Args[0], from))},
				nginxEdits: true, revertible: true,
			})
		}
	}
	if p.Scheme != "https" && p.Scheme != "grpcs" {
		return out
	}
	plain := speaks == "http"
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
