package fixes

import (
	"context"
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
		how := "ngxdoctor undo runs " + strings.Join(undo, " ")
		var at *ruleAt
		if (r.Tool == "iptables" || r.Tool == "ip6tables") && r.Chain != "" && strings.HasPrefix(r.Text, "-A ") {
			// Rule order decides which rule wins: the rule goes back where it was.
			at = &ruleAt{Tool: r.Tool, Chain: r.Chain, Text: r.Text, Spec: undo}
			how = fmt.Sprintf("ngxdoctor undo puts the rule back at its position in %s (%s -I %s N ...)", r.Chain, r.Tool, r.Chain)
		}
		out = append(out, plan{
			ruleAt: at,
			Fix: Fix{
				ID:    fixID(c.ID, c.Target, "firewall-"+r.Tool+"-"+strconv.Itoa(len(out)+1)),
				Title: fmt.Sprintf("Remove the %s rule that %ss port %d: %s", r.Tool, r.Action, port, r.Text),
				Undo:  how,
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

// ruleAt is an iptables rule whose position is read just before it is
// deleted, so undo inserts it at that position again.
type ruleAt struct {
	Tool, Chain, Text string
	// Spec is the insert without a position (tool -I CHAIN spec...).
	Spec []string
}

// undoAt lists the chain and returns the insert that puts the rule back
// at its current position (1-based among the chain's rules).
func (e *Engine) undoAt(ctx context.Context, r ruleAt) ([]string, error) {
	out, err := e.run(ctx, []string{r.Tool, "-S", r.Chain})
	if err != nil {
		return nil, fmt.Errorf("listing %s to find the rule's position: %w", r.Chain, err)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-A "+r.Chain+" ") {
			continue
		}
		n++
		if line == r.Text {
			if len(r.Spec) < 3 || r.Spec[1] != "-I" || r.Spec[2] != r.Chain {
				return nil, fmt.Errorf("cannot place %q back at its position", r.Text)
			}
			return append([]string{r.Spec[0], "-I", r.Chain, strconv.Itoa(n)}, r.Spec[3:]...), nil
		}
	}
	return nil, fmt.Errorf("the rule %q is no longer in %s; nothing to remove", r.Text, r.Chain)
}

// clampPosition keeps an insert's position within the chain as it is now:
// rules removed since the fix would make "-I CHAIN N" fail ("Index of
// insertion too big"); the rule then goes at the end, after every rule
// that was before it.
func (e *Engine) clampPosition(ctx context.Context, r ruleAt, argv []string) []string {
	if len(argv) < 4 || argv[1] != "-I" {
		return argv
	}
	n, err := strconv.Atoi(argv[3])
	if err != nil {
		return argv
	}
	out, err := e.run(ctx, []string{r.Tool, "-S", r.Chain})
	if err != nil {
		return argv
	}
	count := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "-A "+r.Chain+" ") {
			count++
		}
	}
	if n > count+1 {
		argv = append([]string(nil), argv...)
		argv[3] = strconv.Itoa(count + 1)
	}
	return argv
}
