package fixes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// planFirewall deletes the local rule that rejects or drops traffic to the
// target's port, exactly as the firewall tool reported it; undo puts it back.
func planFirewall(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseFirewallBlocked || o == nil || o.Snapshot == nil {
		return nil
	}
	port := c.Facts.Port
	if port <= 0 {
		return nil
	}
	var out []plan
	for _, r := range o.Snapshot.Firewall.Rules {
		if r.Port != port || (r.Action != "reject" && r.Action != "drop") {
			continue
		}
		// iptables and nft rule text is split on spaces into argv (the
		// delete, or the insert that undoes it): a quoted word (a comment)
		// would be cut into pieces and name another rule, or none.
		if r.Tool != "ufw" && r.Tool != "firewalld" && strings.ContainsAny(r.Text, "\"'\\") {
			continue
		}
		del := r.Delete
		if len(del) == 0 {
			del = iptablesDelete(r)
		}
		undo, ok := reinsert(r, del)
		if !ok {
			continue
		}
		out = append(out, plan{
			Fix: Fix{
				ID:    fixID(c.ID, c.Target, "firewall-"+r.Tool+"-"+strconv.Itoa(len(out)+1)),
				Title: fmt.Sprintf("Remove the %s rule that %ss port %d: %s", r.Tool, r.Action, port, r.Text),
				Undo:  "ngxdoctor undo runs " + strings.Join(undo, " "),
				Warning: "The rule may be there on purpose (a policy, a maintenance window); " +
					"a rule kept in a saved ruleset comes back at the next firewall reload unless removed there too",
			},
			commands: [][]string{del},
			undo:     [][]string{undo},
		})
	}
	return out
}

// iptablesDelete turns a rule printed by iptables -S ("-A OUTPUT ...") into its delete.
func iptablesDelete(r host.Rule) []string {
	if r.Tool != "iptables" && r.Tool != "ip6tables" {
		return nil
	}
	f := strings.Fields(r.Text)
	if len(f) < 2 || f[0] != "-A" {
		return nil
	}
	return append([]string{r.Tool, "-D"}, f[1:]...)
}

// reinsert is the command that puts a deleted rule back. Only the known
// tools are accepted: the argv comes from the snapshot and is run as is.
func reinsert(r host.Rule, del []string) ([]string, bool) {
	if len(del) < 2 {
		return nil, false
	}
	switch r.Tool {
	case "iptables", "ip6tables":
		if del[0] != r.Tool {
			return nil, false
		}
		out := append([]string(nil), del...)
		for i, a := range out {
			if a == "-D" || a == "--delete" {
				out[i] = "-I"
				// A delete by number needs the rule's spec to put it back.
				if len(out) == i+3 {
					if _, err := strconv.Atoi(out[i+2]); err == nil {
						spec := strings.Fields(r.Text)
						if len(spec) < 2 || spec[0] != "-A" {
							return nil, false
						}
						out = append(out, spec[2:]...)
					}
				}
				return out, true
			}
		}
	case "nft":
		// nft delete rule FAMILY TABLE CHAIN handle N -> nft insert rule FAMILY TABLE CHAIN <rule>
		if len(del) == 8 && del[0] == "nft" && del[1] == "delete" && del[2] == "rule" && del[6] == "handle" {
			text := r.Text
			if i := strings.Index(text, "# handle"); i >= 0 {
				text = text[:i]
			}
			if strings.TrimSpace(text) == "" {
				return nil, false
			}
			return append([]string{"nft", "insert", "rule", del[3], del[4], del[5]}, strings.Fields(text)...), true
		}
	case "ufw":
		if del[0] == "ufw" && del[1] == "delete" {
			if _, err := strconv.Atoi(del[2]); len(del) == 3 && err == nil {
				return nil, false // a rule number cannot be put back
			}
			return append([]string{"ufw"}, del[2:]...), true
		}
	case "firewalld":
		if del[0] != "firewall-cmd" {
			return nil, false
		}
		out := append([]string(nil), del...)
		changed := false
		for i, a := range out {
			if strings.HasPrefix(a, "--remove-") {
				out[i] = "--add-" + strings.TrimPrefix(a, "--remove-")
				changed = true
			}
		}
		return out, changed
	}
	return nil, false
}
