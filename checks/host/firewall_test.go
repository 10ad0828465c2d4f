package host

import (
	"context"
	"fmt"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"net"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// iptablesSample is `iptables -S` from a host where the backend on 9000 is
// rejected on loopback, a custom chain reached from INPUT drops 3000 for one
// address, and rules nginx could never hit are present too.
const iptablesSample = `-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT DROP
-N app-guard
-N DOCKER-ISOLATION
-A INPUT -j app-guard
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p udp -m udp --dport 53 -j DROP
-A FORWARD -j DOCKER-ISOLATION
-A OUTPUT -o lo -p tcp -m tcp --dport 9000 -j REJECT --reject-with icmp-host-unreachable
-A OUTPUT -p tcp -m multiport --dports 8080,8443 -m comment --comment "block the old api" -j DROP
-A app-guard -d 10.0.0.5/32 -p tcp -m tcp --dport 3000 -j DROP
-A app-guard -p tcp -m tcp --dport 5000 -j REJECT
-A DOCKER-ISOLATION -j DROP
`

func TestParseIptables(t *testing.T) {
	got := ParseIptables("iptables", iptablesSample)
	want := []Rule{
		{Tool: "iptables", Text: "-P OUTPUT DROP", Action: "drop", Chain: "OUTPUT"},
		{Tool: "iptables", Text: "-A OUTPUT -o lo -p tcp -m tcp --dport 9000 -j REJECT --reject-with icmp-host-unreachable",
			Action: "reject", Port: 9000, Chain: "OUTPUT", Out: "lo", RejectWith: "icmp-host-unreachable",
			Delete: []string{"iptables", "-D", "OUTPUT", "-o", "lo", "-p", "tcp", "-m", "tcp", "--dport", "9000", "-j", "REJECT", "--reject-with", "icmp-host-unreachable"}},
		{Tool: "iptables", Text: `-A OUTPUT -p tcp -m multiport --dports 8080,8443 -m comment --comment "block the old api" -j DROP`,
			Action: "drop", Port: 8080, Chain: "OUTPUT",
			Delete: []string{"iptables", "-D", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", "8080,8443", "-m", "comment", "--comment", "block the old api", "-j", "DROP"}},
		{Tool: "iptables", Text: `-A OUTPUT -p tcp -m multiport --dports 8080,8443 -m comment --comment "block the old api" -j DROP`,
			Action: "drop", Port: 8443, Chain: "OUTPUT",
			Delete: []string{"iptables", "-D", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", "8080,8443", "-m", "comment", "--comment", "block the old api", "-j", "DROP"}},
		{Tool: "iptables", Text: "-A app-guard -d 10.0.0.5/32 -p tcp -m tcp --dport 3000 -j DROP",
			Action: "drop", Port: 3000, Dest: "10.0.0.5/32", Chain: "app-guard",
			Delete: []string{"iptables", "-D", "app-guard", "-d", "10.0.0.5/32", "-p", "tcp", "-m", "tcp", "--dport", "3000", "-j", "DROP"}},
		{Tool: "iptables", Text: "-A app-guard -p tcp -m tcp --dport 5000 -j REJECT",
			Action: "reject", Port: 5000, Chain: "app-guard", RejectWith: "icmp-port-unreachable",
			Delete: []string{"iptables", "-D", "app-guard", "-p", "tcp", "-m", "tcp", "--dport", "5000", "-j", "REJECT"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", dumpRules(got), dumpRules(want))
	}
}

func dumpRules(rs []Rule) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

// nftSample is `nft -a list ruleset` with an iptables-nft table (skipped
// when iptables answered) and a native inet table.
const nftSample = `table ip filter { # handle 1
	chain OUTPUT { # handle 1
		type filter hook output priority filter; policy accept;
		oifname "lo" tcp dport 9000 counter packets 0 bytes 0 reject with icmp type host-unreachable # handle 8
	}
}
table inet guard { # handle 2
	chain out { # handle 1
		type filter hook output priority filter; policy drop;
		ct state invalid drop # handle 3
		ip daddr 127.0.0.1 tcp dport 3000 reject with tcp reset # handle 4
		tcp dport { 8080, 8443 } drop # handle 5
		udp dport 53 drop # handle 6
	}
	chain fwd { # handle 7
		type filter hook forward priority filter; policy drop;
		tcp dport 22 drop # handle 9
	}
}
`

func TestParseNft(t *testing.T) {
	got := ParseNft(nftSample, true, true)
	del := func(h string) []string { return []string{"nft", "delete", "rule", "inet", "guard", "out", "handle", h} }
	want := []Rule{
		{Tool: "nft", Text: "type filter hook output priority filter; policy drop;", Action: "drop", Chain: "out"},
		{Tool: "nft", Text: "ip daddr 127.0.0.1 tcp dport 3000 reject with tcp reset", Action: "reject", Port: 3000,
			Dest: "127.0.0.1/32", Chain: "out", RejectWith: "tcp-reset", Delete: del("4")},
		{Tool: "nft", Text: "tcp dport { 8080, 8443 } drop", Action: "drop", Port: 8080, Chain: "out", Delete: del("5")},
		{Tool: "nft", Text: "tcp dport { 8080, 8443 } drop", Action: "drop", Port: 8443, Chain: "out", Delete: del("5")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", dumpRules(got), dumpRules(want))
	}

	// Without iptables, the ip filter table is the only place the rule shows.
	got = ParseNft(nftSample, false, false)
	if len(got) != 5 || got[0].Port != 9000 || got[0].Out != "lo" || got[0].RejectWith != "icmp-host-unreachable" {
		t.Errorf("got\n%s\nwant the iptables-nft rule on 9000 first", dumpRules(got))
	}
}

func TestParseUfw(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []Rule
	}{
		{"inactive", "Status: inactive\n", []Rule{}},
		{"rules", `Status: active

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW       Anywhere
9000/tcp                   DENY OUT    Anywhere
3000                       REJECT      Anywhere
127.0.0.1 5000/tcp         DENY        Anywhere
53/udp                     DENY        Anywhere
9000/tcp (v6)              DENY OUT    Anywhere (v6)
`, []Rule{
			{Tool: "ufw", Text: "9000/tcp                   DENY OUT    Anywhere", Action: "drop", Port: 9000, Chain: "ufw-user-output",
				Delete: []string{"ufw", "delete", "deny", "out", "9000/tcp"}},
			{Tool: "ufw", Text: "3000                       REJECT      Anywhere", Action: "reject", Port: 3000, Chain: "ufw-user-input",
				RejectWith: "icmp-port-unreachable", Delete: []string{"ufw", "delete", "reject", "3000"}},
			{Tool: "ufw", Text: "127.0.0.1 5000/tcp         DENY        Anywhere", Action: "drop", Port: 5000, Dest: "127.0.0.1/32", Chain: "ufw-user-input"},
			// ufw deletes the v4 and v6 rule together with the same command.
			{Tool: "ufw", Text: "9000/tcp (v6)              DENY OUT    Anywhere (v6)", Action: "drop", Port: 9000, Chain: "ufw-user-output",
				Delete: []string{"ufw", "delete", "deny", "out", "9000/tcp"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseUfw(tc.text)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", dumpRules(got), dumpRules(tc.want))
			}
		})
	}
}

// TestReadFirewallRecorded runs ReadFirewall on canned command outputs: a
// host with iptables-nft and no ufw or firewalld, and one where iptables
// needs root.
func TestReadFirewallRecorded(t *testing.T) {
	cases := []struct {
		name      string
		commands  []RecordedCommand
		wantTools []string
		wantPorts []int
		wantNote  []string
	}{
		{
			name: "iptables-nft",
			commands: []RecordedCommand{
				{Argv: []string{"iptables", "-S"}, Stdout: iptablesSample},
				{Argv: []string{"ip6tables", "-S"}, Stdout: "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"},
				{Argv: []string{"nft", "-a", "list", "ruleset"}, Stdout: nftSample},
			},
			wantTools: []string{"iptables", "ip6tables", "nft"},
			wantPorts: []int{0, 9000, 8080, 8443, 3000, 5000, 0, 3000, 8080, 8443},
		},
		{
			name: "not root",
			commands: []RecordedCommand{
				{Argv: []string{"iptables", "-S"}, ExitCode: 4, Stderr: "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n"},
			},
			wantTools: []string{},
			wantNote:  []string{"iptables -S failed (exit 4): iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)", "ip6tables is not installed", "nft is not installed"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fw := ReadFirewall(context.Background(), Replay(&Recording{Commands: tc.commands}))
			if !reflect.DeepEqual(fw.Tools, tc.wantTools) {
				t.Errorf("tools: got %v, want %v", fw.Tools, tc.wantTools)
			}
			var ports []int
			for _, r := range fw.Rules {
				ports = append(ports, r.Port)
			}
			if !reflect.DeepEqual(ports, tc.wantPorts) {
				t.Errorf("ports: got %v, want %v\n%s", ports, tc.wantPorts, dumpRules(fw.Rules))
			}
			for _, n := range tc.wantNote {
				if !strings.Contains(fw.Note, n) {
					t.Errorf("note %q does not say %q", fw.Note, n)
				}
			}
		})
	}
}

// TestReadFirewallLive adds a real REJECT rule on a free loopback port, sees
// it through Live() with the effect a user would notice (connect fails with
// "no route to host"), and removes it with the Delete argv the parser built.
func TestReadFirewallLive(t *testing.T) {
	needRoot(t)
	_, err := exec.LookPath("iptables")
	labtest.Need(t, err == nil, "iptables is not installed (scripts/test.sh installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sys := Live()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	rule := []string{"OUTPUT", "-o", "lo", "-p", "tcp", "--dport", port, "-j", "REJECT", "--reject-with", "icmp-host-unreachable"}
	out, err := sys.Run(ctx, "iptables", append([]string{"-I"}, rule...)...)
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("iptables -I: %v %s", err, out.Stderr)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			sys.Run(context.Background(), "iptables", append([]string{"-D"}, rule...)...)
		}
	})

	if c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second); err == nil {
		c.Close()
		t.Fatal("the REJECT rule did not stop a connection")
	}
	fw := ReadFirewall(ctx, sys)
	var found *Rule
	for i, r := range fw.Rules {
		if r.Tool == "iptables" && strconv.Itoa(r.Port) == port {
			found = &fw.Rules[i]
		}
	}
	if found == nil {
		t.Fatalf("rule on port %s not found among\n%s", port, dumpRules(fw.Rules))
	}
	if found.Action != "reject" || found.Chain != "OUTPUT" || found.Out != "lo" || found.RejectWith != "icmp-host-unreachable" {
		t.Errorf("got %+v", *found)
	}
	for _, r := range fw.Rules {
		if r.Tool == "nft" && strconv.Itoa(r.Port) == port {
			t.Errorf("the iptables-nft rule is reported twice (by nft too): %+v", r)
		}
	}
	out, err = sys.Run(ctx, found.Delete[0], found.Delete[1:]...)
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("delete %v: %v %s", found.Delete, err, out.Stderr)
	}
	removed = true
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatalf("after delete, connect still fails: %v", err)
	}
	c.Close()
}

// Ranges and negations are matched port by port: a range rule blocks its
// range only, a negated one everything else.
func TestRuleMatches(t *testing.T) {
	ipt := ParseIptables("iptables", `-P OUTPUT ACCEPT
-A OUTPUT -o lo -p tcp -m tcp --dport 20000:20299 -j DROP
-A OUTPUT -p tcp -m tcp ! --dport 22 -d 10.0.0.5/32 -j REJECT
-A OUTPUT -p tcp -m multiport --dports 8000:8010,9000 -j DROP
-A OUTPUT ! -d 127.0.0.0/8 -p tcp -m tcp --dport 6000 -j DROP
-A OUTPUT -o eth0 -p tcp -m tcp --dport 7000 -j DROP
-A OUTPUT ! -p tcp -j DROP
`)
	nft := ParseNft(`table inet guard {
	chain out {
		type filter hook output priority filter; policy accept;
		tcp dport 21000-21099 drop # handle 4
		tcp dport != { 22, 443 } ip daddr 10.0.0.6 reject # handle 5
	}
}`, false, false)
	ufw := ParseUfw("Status: active\n\nTo                         Action      From\n--                         ------      ----\n5000:5010/tcp              DENY        Anywhere\n")
	rules := append(append(ipt, nft...), ufw...)
	for _, tc := range []struct {
		ip   string
		port int
		want string // the Text of the first rule that matches, "" for none
	}{
		{"127.0.0.1", 20000, "-A OUTPUT -o lo -p tcp -m tcp --dport 20000:20299 -j DROP"},
		{"127.0.0.1", 20299, "-A OUTPUT -o lo -p tcp -m tcp --dport 20000:20299 -j DROP"},
		{"127.0.0.1", 20300, ""},
		{"127.0.0.1", 19999, ""},
		{"10.0.0.5", 22, ""},
		{"10.0.0.5", 8080, "-A OUTPUT -p tcp -m tcp ! --dport 22 -d 10.0.0.5/32 -j REJECT"},
		{"127.0.0.1", 8005, "-A OUTPUT -p tcp -m multiport --dports 8000:8010,9000 -j DROP"},
		{"127.0.0.1", 9000, "-A OUTPUT -p tcp -m multiport --dports 8000:8010,9000 -j DROP"},
		{"127.0.0.1", 8011, ""},
		{"127.0.0.1", 6000, ""},
		{"192.0.2.1", 6000, "-A OUTPUT ! -d 127.0.0.0/8 -p tcp -m tcp --dport 6000 -j DROP"},
		{"127.0.0.1", 7000, ""}, // loopback traffic never leaves by eth0
		{"127.0.0.1", 21050, "tcp dport 21000-21099 drop"},
		{"10.0.0.6", 443, ""},
		{"10.0.0.6", 80, "tcp dport != { 22, 443 } ip daddr 10.0.0.6 reject"},
		{"127.0.0.1", 5005, "5000:5010/tcp              DENY        Anywhere"},
		{"127.0.0.1", 5011, ""},
	} {
		got := ""
		for _, r := range rules {
			if r.Matches(tc.ip, tc.port) && !(r.Port == 0 && r.Dest == "" && len(r.Except) == 0) {
				got = r.Text
				break
			}
		}
		if got != tc.want {
			t.Errorf("%s:%d: got rule %q, want %q", tc.ip, tc.port, got, tc.want)
		}
	}
}

func FuzzPortSpans(f *testing.F) {
	for _, s := range []string{"80", "80,443", "8000:9000", ":1024", "1024:", "9000-8000", "a:b", ",,", "65536", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sp := range portSpans(s) {
			if sp.Lo < 1 || sp.Hi > 65535 || sp.Lo > sp.Hi {
				t.Fatalf("%q: span %+v out of order or range", s, sp)
			}
		}
	})
}
