package fixes

import (
	"context"
	"fmt"
	"regexp"
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
		switch {
		case (r.Tool == "iptables" || r.Tool == "ip6tables") && r.Chain != "" && strings.HasPrefix(r.Text, "-A "):
			// Rule order decides which rule wins: the rule goes back where it was.
			at = &ruleAt{Tool: r.Tool, Chain: r.Chain, Text: r.Text, Spec: undo}
			how = fmt.Sprintf("ngxdoctor undo puts the rule back at its position in %s (%s -I %s N ...)", r.Chain, r.Tool, r.Chain)
		case r.Tool == "nft":
			// The same for nft: "insert rule" alone would put it first.
			at = &ruleAt{Tool: "nft", Family: del[3], Table: del[4], Chain: del[5], Handle: del[7], Text: r.Text, Spec: undo}
			how = fmt.Sprintf("ngxdoctor undo puts the rule back at its position in %s %s %s (nft add rule ... position H, after the rule that was before it)", del[3], del[4], del[5])
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

// ruleAt is a firewall rule whose position is read just before it is
// deleted, so undo puts it back at that position.
type ruleAt struct {
	Tool, Chain, Text string
	// Spec is the insert without a position (tool -I CHAIN spec..., or
	// nft insert rule FAMILY TABLE CHAIN rule...).
	Spec []string
	// nft only: the rule's table and handle, and the handles of the rules
	// before it in its chain, nearest last, read just before the delete.
	Family, Table, Handle string   `json:",omitempty"`
	Before                []string `json:",omitempty"`
}

// undoAt lists the chain and returns the insert that puts the rule back
// at its current position (1-based among the chain's rules). For nft it
// also records, in r, the handles of the rules before it.
func (e *Engine) undoAt(ctx context.Context, r *ruleAt) ([]string, error) {
	if r.Tool == "nft" {
		handles, texts, err := e.nftRules(ctx, *r)
		if err != nil {
			return nil, err
		}
		for i, h := range handles {
			if h != r.Handle {
				continue
			}
			// The delete goes by handle: after a ruleset reload the
			// handle may name another rule, which must not go.
			if r.Text != "" && texts[i] != strings.TrimSpace(r.Text) {
				return nil, fmt.Errorf("handle %s in %s %s %s is now %q, not the rule the check saw (%q): the ruleset changed; nothing removed", r.Handle, r.Family, r.Table, r.Chain, texts[i], r.Text)
			}
			r.Before = append([]string(nil), handles[:i]...)
			return nftPlace(*r, handles), nil
		}
		return nil, fmt.Errorf("the rule with handle %s is no longer in %s %s %s; nothing to remove", r.Handle, r.Family, r.Table, r.Chain)
	}
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

// position tells where undo puts the rule back, for the fix's log.
func (r ruleAt) position(undo []string) string {
	if r.Tool == "nft" {
		if len(r.Before) == 0 {
			return fmt.Sprintf("the rule is first in %s %s %s; undo inserts it first again", r.Family, r.Table, r.Chain)
		}
		return fmt.Sprintf("the rule comes after handle %s in %s %s %s; undo adds it there", r.Before[len(r.Before)-1], r.Family, r.Table, r.Chain)
	}
	return fmt.Sprintf("the rule is number %s in %s; undo inserts it there", undo[3], r.Chain)
}

// nftRuleHandleRe is a rule line of `nft -a list chain`: its handle last.
var nftRuleHandleRe = regexp.MustCompile(`^\s*[^\s{}].*#\s*handle\s+(\d+)\s*$`)

// nftRules lists the handles of the chain's rules, in order, and each
// rule's text without its handle.
func (e *Engine) nftRules(ctx context.Context, r ruleAt) (handles, texts []string, err error) {
	out, err := e.run(ctx, []string{"nft", "-a", "list", "chain", r.Family, r.Table, r.Chain})
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s %s %s to find the rule's position: %w", r.Family, r.Table, r.Chain, err)
	}
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(line)
		// The chain's own line ("chain out { # handle 1") and its type
		// line are not rules.
		if strings.HasPrefix(t, "chain ") || strings.HasPrefix(t, "table ") || strings.HasPrefix(t, "type ") {
			continue
		}
		if m := nftRuleHandleRe.FindStringSubmatch(line); m != nil {
			handles = append(handles, m[1])
			texts = append(texts, strings.TrimSpace(t[:strings.LastIndex(t, "#")]))
		}
	}
	return handles, texts, nil
}

// nftPlace is the command that puts the rule back after the nearest rule
// that was before it and is still in the chain (handles are never reused),
// or first when none is left.
func nftPlace(r ruleAt, now []string) []string {
	present := map[string]bool{}
	for _, h := range now {
		present[h] = true
	}
	if len(r.Spec) < 6 {
		return r.Spec
	}
	rule := r.Spec[6:]
	for i := len(r.Before) - 1; i >= 0; i-- {
		if present[r.Before[i]] {
			return append([]string{"nft", "add", "rule", r.Family, r.Table, r.Chain, "position", r.Before[i]}, rule...)
		}
	}
	return append([]string{"nft", "insert", "rule", r.Family, r.Table, r.Chain}, rule...)
}

// clampPosition keeps an insert's position within the chain as it is now:
// rules removed since the fix would make "-I CHAIN N" fail ("Index of
// insertion too big"); the rule then goes at the end, after every rule
// that was before it.
func (e *Engine) clampPosition(ctx context.Context, r ruleAt, argv []string) []string {
	if r.Tool == "nft" {
		// The rules before it may be gone: it goes after the nearest left.
		if hs, _, err := e.nftRules(ctx, r); err == nil {
			return nftPlace(r, hs)
		}
		return argv
	}
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
