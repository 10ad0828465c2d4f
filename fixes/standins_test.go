package fixes

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// standIns puts scripts named like the real tools first on PATH; each
// appends its name and argv to a log, one command a line.
func standIns(t *testing.T, names ...string) func() []string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "argv.log")
	// A listing (iptables -S CHAIN, nft -a list chain ...) prints NAME.S
	// from the same directory.
	script := "#!/bin/sh\n{ printf '%s' \"$(basename \"$0\")\"; for a in \"$@\"; do printf ' %s' \"$a\"; done; printf '\\n'; } >> " + log + "\n" +
		"if { [ \"$1\" = -S ] || [ \"$1\" = -a ]; } && [ -f \"$0.S\" ]; then cat \"$0.S\"; fi\n"
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() []string {
		data, _ := os.ReadFile(log)
		os.Remove(log)
		return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
}

func assertArgv(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("commands run:\ngot  %q\nwant %q", got, want)
	}
}

// commandOutcome is an outcome with no nginx to reload: only commands run.
func commandOutcome(c checks.Cause) *checks.Outcome {
	return &checks.Outcome{Snapshot: &checks.Snapshot{}, Causes: []checks.Cause{c}}
}

func applyUndo(t *testing.T, e *Engine, o *checks.Outcome, f Fix, ran func() []string, apply, undone []string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.Apply(ctx, o, f, Options{})
	if err != nil {
		t.Fatalf("apply %s: %v\n%s", f.ID, err, strings.Join(a.Log, "\n"))
	}
	assertArgv(t, ran(), apply...)
	if u, err := e.Undo(ctx, ""); err != nil {
		t.Fatalf("undo %s: %v\n%s", f.ID, err, strings.Join(u.Log, "\n"))
	}
	assertArgv(t, ran(), undone...)
}

func TestSELinuxStandIns(t *testing.T) {
	ran := standIns(t, "setsebool", "semanage")
	c := checks.Cause{ID: "selinux-denied", Target: "127.0.0.1:8080", Facts: checks.Facts{Port: 8080}}
	o := commandOutcome(c)
	o.Snapshot.SELinux = host.SELinux{Available: true, Mode: "enforcing"}
	e := testEngine(t)
	fs := e.For(o, c)
	applyUndo(t, e, o, fixByKind(t, fs, "setsebool"), ran,
		[]string{"setsebool -P httpd_can_network_connect 1"},
		[]string{"setsebool -P httpd_can_network_connect 0"})
	applyUndo(t, e, o, fixByKind(t, fs, "semanage-port"), ran,
		[]string{"semanage port -a -t http_port_t -p tcp 8080"},
		[]string{"semanage port -d -t http_port_t -p tcp 8080"})

	// undo also takes the fix ID a report shows.
	f := fixByKind(t, fs, "setsebool")
	if _, err := e.Apply(context.Background(), o, f, Options{}); err != nil {
		t.Fatal(err)
	}
	ran()
	undo(t, e, f.ID)
	assertArgv(t, ran(), "setsebool -P httpd_can_network_connect 0")
	if _, err := e.Undo(context.Background(), f.ID); err == nil {
		t.Fatal("undid the same fix twice")
	}

	// With the boolean on, only the port label is offered.
	o.Snapshot.SELinux.NetworkConnect = true
	if fs := e.For(o, c); len(fs) != 1 {
		t.Fatalf("got %d fixes with the boolean on, want 1", len(fs))
	}
}

func TestServiceRestartStandIns(t *testing.T) {
	ran := standIns(t, "systemctl", "journalctl")
	c := checks.Cause{ID: "backend-down", Target: "127.0.0.1:3000", Facts: checks.Facts{Unit: "app.service"}}
	o := commandOutcome(c)
	o.Snapshot.Units = map[string]host.Unit{"127.0.0.1:3000": {Name: "app.service", Active: "failed"}}
	e := testEngine(t)
	if len(e.For(o, c)) != 0 {
		t.Fatal("a systemctl fix is offered without systemd")
	}
	e.SystemdRoot = t.TempDir()
	f := fixByKind(t, e.For(o, c), "restart")
	applyUndo(t, e, o, f, ran,
		[]string{"journalctl -u app.service -n 10 --no-pager", "systemctl restart app.service", "journalctl -u app.service -n 10 --no-pager"},
		[]string{"systemctl stop app.service"})

	// A unit name from evidence is never passed on unchecked.
	c.Facts.Unit = "--now; rm"
	o.Snapshot.Units = nil
	if len(e.For(o, c)) != 0 {
		t.Fatal("a malformed unit name was offered")
	}
}

func TestFirewallStandIns(t *testing.T) {
	ran := standIns(t, "ufw", "firewall-cmd", "iptables", "nft")
	c := checks.Cause{ID: "firewall-blocked", Target: "127.0.0.1:3000", Facts: checks.Facts{Port: 3000}}
	rich := `rule family="ipv4" port port="3000" protocol="tcp" reject`
	tests := []struct {
		rule        host.Rule
		apply, undo string
	}{
		{host.Rule{Tool: "ufw", Action: "reject", Port: 3000, Text: "3000/tcp REJECT OUT Anywhere", Delete: []string{"ufw", "delete", "reject", "out", "3000/tcp"}},
			"ufw delete reject out 3000/tcp", "ufw reject out 3000/tcp"},
		{host.Rule{Tool: "firewalld", Action: "reject", Port: 3000, Text: rich, Delete: []string{"firewall-cmd", "--remove-rich-rule=" + rich}},
			"firewall-cmd --remove-rich-rule=" + rich, "firewall-cmd --add-rich-rule=" + rich},
		// The rule is the second of its chain: undo puts it back second.
		{host.Rule{Tool: "iptables", Action: "reject", Port: 3000, Chain: "OUTPUT", Text: "-A OUTPUT -p tcp -m tcp --dport 3000 -j REJECT --reject-with icmp-host-unreachable"},
			"iptables -D OUTPUT -p tcp -m tcp --dport 3000 -j REJECT --reject-with icmp-host-unreachable",
			"iptables -I OUTPUT 2 -p tcp -m tcp --dport 3000 -j REJECT --reject-with icmp-host-unreachable"},
		// The nft rule comes after handle 3: undo adds it after handle 3.
		{host.Rule{Tool: "nft", Action: "drop", Port: 3000, Chain: "output", Text: "tcp dport 3000 drop", Delete: []string{"nft", "delete", "rule", "inet", "filter", "output", "handle", "7"}},
			"nft delete rule inet filter output handle 7", "nft add rule inet filter output position 3 tcp dport 3000 drop"},
	}
	for _, tt := range tests {
		t.Run(tt.rule.Tool, func(t *testing.T) {
			o := commandOutcome(c)
			o.Snapshot.Firewall = host.Firewall{Rules: []host.Rule{
				tt.rule,
				{Tool: tt.rule.Tool, Action: "accept", Port: 3000, Text: "an accept rule is no cause"},
				{Tool: tt.rule.Tool, Action: "reject", Port: 4000, Text: "another port"},
			}}
			e := testEngine(t)
			fs := e.For(o, c)
			if len(fs) != 1 {
				t.Fatalf("got %d fixes, want 1", len(fs))
			}
			applied, undone := []string{tt.apply}, []string{tt.undo}
			if tt.rule.Tool == "iptables" {
				bin, _ := exec.LookPath("iptables")
				os.WriteFile(bin+".S", []byte("-P OUTPUT ACCEPT\n-A OUTPUT -o lo -j ACCEPT\n"+tt.rule.Text+"\n-A OUTPUT -j LOG\n"), 0o644)
				applied = []string{"iptables -S OUTPUT", tt.apply}
				undone = []string{"iptables -S OUTPUT", tt.undo}
			}
			if tt.rule.Tool == "nft" {
				bin, _ := exec.LookPath("nft")
				os.WriteFile(bin+".S", []byte("table inet filter {\n\tchain output { # handle 1\n\t\ttype filter hook output priority filter; policy accept;\n"+
					"\t\toifname \"lo\" accept # handle 3\n\t\t"+tt.rule.Text+" # handle 7\n\t\tcounter packets 0 bytes 0 # handle 9\n\t}\n}\n"), 0o644)
				list := "nft -a list chain inet filter output"
				applied = []string{list, tt.apply}
				undone = []string{list, tt.undo}
			}
			applyUndo(t, e, o, fs[0], ran, applied, undone)
		})
	}
}

func TestMonitorStandIns(t *testing.T) {
	ran := standIns(t, "systemctl")
	e := testEngine(t)
	e.SystemdRoot = t.TempDir()
	e.TextfileDir = t.TempDir()
	e.Self = "/usr/bin/true" // root's, in root's directories
	o := &checks.Outcome{Snapshot: &checks.Snapshot{}}
	f := fixByKind(t, e.Advice(o), "monitor")
	svc := filepath.Join(e.UnitDir, "ngxdoctor-check.service")
	applyUndo(t, e, o, f, ran,
		[]string{"systemctl daemon-reload", "systemctl enable --now ngxdoctor-check.timer", "systemctl is-active ngxdoctor-check.timer"},
		[]string{"systemctl disable --now ngxdoctor-check.timer", "systemctl daemon-reload"})
	if _, err := os.Lstat(svc); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("undo left %s: %v", svc, err)
	}

	// Without systemd: a cron.d file, removed again by undo.
	e.SystemdRoot = ""
	f = fixByKind(t, e.Advice(o), "monitor")
	if _, err := e.Apply(context.Background(), o, f, Options{}); err != nil {
		t.Fatal(err)
	}
	cron := readFile(t, filepath.Join(e.CronDir, "ngxdoctor"))
	if !strings.Contains(cron, "* * * * * root /usr/bin/true check --format prom > "+e.TextfileDir+"/ngxdoctor.prom.tmp") {
		t.Fatalf("cron file:\n%s", cron)
	}
	undo(t, e, "")
	if _, err := os.Lstat(filepath.Join(e.CronDir, "ngxdoctor")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("undo left the cron file")
	}
}

func TestReadOnlyAndDryRunChangeNothing(t *testing.T) {
	c := checks.Cause{ID: "selinux-denied", Target: "127.0.0.1:8080"}
	o := commandOutcome(c)
	e := testEngine(t)
	rec := &Recorder{}
	e.Runner = rec
	f := fixByKind(t, e.For(o, c), "setsebool")
	if _, err := e.Apply(context.Background(), o, f, Options{ReadOnly: true}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only: got %v, want ErrReadOnly", err)
	}
	a, err := e.Apply(context.Background(), o, f, Options{DryRun: true})
	if err != nil || len(rec.Calls()) != 0 {
		t.Fatalf("dry run: err %v, ran %q", err, rec.Calls())
	}
	if !strings.Contains(strings.Join(a.Log, "\n"), "would run: setsebool -P httpd_can_network_connect 1") {
		t.Fatalf("dry-run log: %q", a.Log)
	}
	if j, _ := e.Journal(); len(j) != 0 {
		t.Fatal("a dry run was journaled")
	}
	if _, err := e.Apply(context.Background(), o, Fix{ID: "selinux-denied:x:nope"}, Options{}); err == nil {
		t.Fatal("an unknown fix id was applied")
	}
}
