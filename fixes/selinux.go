package fixes

import (
	"strconv"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planSELinux: the boolean that lets httpd_t (nginx) connect out, and the
// narrower port label for one port. Both persist (-P, semanage).
func planSELinux(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseSELinuxDenied {
		return nil
	}
	var out []plan
	boolOn := o != nil && o.Snapshot != nil && o.Snapshot.SELinux.NetworkConnect
	if !boolOn {
		out = append(out, plan{
			Fix: Fix{
				ID:      fixID(c.ID, c.Target, "setsebool"),
				Title:   "Allow nginx to connect to the network (httpd_can_network_connect)",
				Undo:    "ngxdoctor undo runs setsebool -P httpd_can_network_connect 0",
				Warning: "nginx may then connect to any port on any host; the port label below is narrower",
			},
			commands: [][]string{{"setsebool", "-P", "httpd_can_network_connect", "1"}},
			undo:     [][]string{{"setsebool", "-P", "httpd_can_network_connect", "0"}},
		})
	}
	if port := c.Facts.Port; port > 0 && port < 65536 {
		p := strconv.Itoa(port)
		out = append(out, plan{
			Fix: Fix{
				ID:    fixID(c.ID, c.Target, "semanage-port"),
				Title: "Label TCP port " + p + " as http_port_t so nginx may connect to it",
				Undo:  "ngxdoctor undo runs semanage port -d -t http_port_t -p tcp " + p,
				Warning: "Fails when the port already has another label (then use semanage port -m); " +
					"other web-server domains may use the port too",
			},
			commands: [][]string{{"semanage", "port", "-a", "-t", "http_port_t", "-p", "tcp", p}},
			undo:     [][]string{{"semanage", "port", "-d", "-t", "http_port_t", "-p", "tcp", p}},
		})
	}
	return out
}
