package fixes

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// nftPlace puts the rule back after the nearest rule that was before it
// and is still there; with none left, first.
func TestNftPlace(t *testing.T) {
	r := ruleAt{Tool: "nft", Family: "ip", Table: "t", Chain: "out", Handle: "7", Before: []string{"2", "5"},
		Spec: strings.Fields("nft insert rule ip t out tcp dport 80 drop")}
	for _, tt := range []struct {
		now  []string
		want string
	}{
		{[]string{"2", "5", "9"}, "nft add rule ip t out position 5 tcp dport 80 drop"},
		{[]string{"2", "9"}, "nft add rule ip t out position 2 tcp dport 80 drop"},
		{[]string{"9"}, "nft insert rule ip t out tcp dport 80 drop"},
		{nil, "nft insert rule ip t out tcp dport 80 drop"},
	} {
		if got := strings.Join(nftPlace(r, tt.now), " "); got != tt.want {
			t.Errorf("chain %q: got %q, want %q", tt.now, got, tt.want)
		}
	}
}

// A real nft rule between two others blocks the backend: the fix deletes
// it and the 502 becomes a 200; undo puts it back between the same two
// rules (not first in the chain, where it would take precedence over the
// rule that was before it) and the 502 is back. The table is the test's
// own and only matches loopback traffic to the lab's ports.
func TestNftRuleRemovedAndPutBackInPlace(t *testing.T) {
	needRoot(t)
	_, err := exec.LookPath("nft")
	labtest.Need(t, err == nil, "needs nft (Debian's nftables; scripts/test.sh installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, _ := lab.Find("healthy")
	l, err := lab.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Listeners[0])

	table := fmt.Sprintf("ngxdoctor_test_%d", time.Now().UnixNano()%1e9)
	nft := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "nft", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("nft %q: %v: %s", args, err, out)
		}
		return string(out)
	}
	// Deleted even when the test fails half-way.
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "ip", table).Run() })
	nft("add", "table", "ip", table)
	nft("add", "chain", "ip", table, "out", "{ type filter hook output priority 0; policy accept; }")
	nft("add", "rule", "ip", table, "out", "ip", "daddr", "127.0.0.1", "tcp", "dport", "1", "accept")
	nft("add", "rule", "ip", table, "out", "ip", "daddr", "127.0.0.1", "tcp", "dport", port, "reject", "with", "icmp", "type", "host-unreachable")
	nft("add", "rule", "ip", table, "out", "ip", "daddr", "127.0.0.1", "tcp", "dport", "2", "accept")
	rules := func() []string {
		var out []string
		for _, line := range strings.Split(nft("list", "chain", "ip", table, "out"), "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "ip daddr") {
				out = append(out, line)
			}
		}
		return out
	}
	before := rules()
	if len(before) != 3 {
		t.Fatalf("chain holds %q", before)
	}

	if got, _ := l.Get(ctx, l.Path); got != 502 {
		t.Fatalf("GET %s with the rule: %d, want 502", l.Path, got)
	}
	o, cause := diagnosed(ctx, t, l, checks.CauseFirewallBlocked)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, cause), "firewall-nft-1")
	if !strings.Contains(f.Title, "dport "+port) {
		t.Fatalf("the fix removes another rule: %s", f.Title)
	}
	a := apply(t, e, o, f)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	if got, err := l.Get(ctx, l.Path); got != 200 {
		t.Fatalf("GET %s after the fix: %d (%v), want 200", l.Path, got, err)
	}
	if after := rules(); len(after) != 2 || after[0] != before[0] || after[1] != before[2] {
		t.Fatalf("after the fix the chain holds %q, want %q and %q", after, before[0], before[2])
	}

	undo(t, e, a.JournalID)
	if got := rules(); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("after undo the chain holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
	// The lab's upstream keeps connections alive: a request on a kept
	// connection is now rejected packet by packet and hangs (nginx would
	// answer 504 after its 60 s), a new connection gets the 502. Either way
	// the failure is back; 5 s is enough to see that it does not succeed.
	short, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	if got, err := l.Get(short, l.Path); got == 200 {
		t.Fatalf("GET %s after undo: %d (%v), want the failure back", l.Path, got, err)
	}
}

// The nft delete goes by handle: when the handle now names another rule
// (the ruleset was reloaded since the check), nothing is deleted.
func TestNftHandleOfAnotherRuleIsRefused(t *testing.T) {
	ran := standIns(t, "nft")
	bin, _ := exec.LookPath("nft")
	os.WriteFile(bin+".S", []byte("table inet filter {\n\tchain output { # handle 1\n\t\ttype filter hook output priority filter; policy accept;\n"+
		"\t\ttcp dport 22 accept # handle 7\n\t}\n}\n"), 0o644)
	c := checks.Cause{ID: "firewall-blocked", Target: "127.0.0.1:3000", Facts: checks.Facts{Port: 3000}}
	o := commandOutcome(c)
	o.Snapshot.Firewall = host.Firewall{Rules: []host.Rule{{Tool: "nft", Action: "drop", Port: 3000, Chain: "output",
		Text: "tcp dport 3000 drop", Delete: []string{"nft", "delete", "rule", "inet", "filter", "output", "handle", "7"}}}}
	e := testEngine(t)
	fs := e.For(o, c)
	if len(fs) != 1 {
		t.Fatalf("got %d fixes, want 1", len(fs))
	}
	a, err := e.Apply(context.Background(), o, fs[0], Options{})
	if err == nil || !strings.Contains(err.Error(), "ruleset changed") {
		t.Fatalf("apply: %v\n%s", err, strings.Join(a.Log, "\n"))
	}
	assertArgv(t, ran(), "nft -a list chain inet filter output")
}
