package fixes

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planResolver adds a resolver where a *_pass with variables needs one:
// nginx resolves such names per request and has no system resolver.
func planResolver(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseNoResolver {
		return nil
	}
	ns := nameservers(e.ResolvConf)
	if len(ns) == 0 {
		return nil
	}
	// valid=30s re-resolves often enough to follow a moving backend without
	// asking the nameserver on every request.
	args := append(ns, "valid=30s")
	ed, ok := setDirective(o, c, "", "resolver", args...)
	if !ok {
		return nil
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "resolver"),
			Title: "Add resolver " + strings.Join(ns, " ") + " (the system's nameservers) at the failing location",
			Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
			Warning: fmt.Sprintf("nginx will trust these nameservers' answers for %s; "+
				"a nameserver that only answers locally (127.0.0.53) needs systemd-resolved running", c.Target),
		},
		edits: []Edit{ed}, nginxEdits: true, revertible: true,
	}}
}

// nameservers reads resolv.conf; IPv6 addresses go in brackets as nginx wants.
func nameservers(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 || fs[0] != "nameserver" {
			continue
		}
		a := fs[1]
		if i := strings.IndexByte(a, '%'); i >= 0 {
			continue // a link-local zone nginx cannot use
		}
		ip := net.ParseIP(a)
		if ip == nil {
			continue
		}
		if ip.To4() == nil {
			a = "[" + a + "]"
		}
		out = append(out, a)
	}
	return out
}
