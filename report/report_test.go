package report

import (
	"charm.land/lipgloss/v2"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

const sock = "unix:/run/php/php8.2-fpm.sock"

func input() Input {
	s := &checks.Snapshot{
		Install:    nginx.Install{Binary: "/usr/sbin/nginx", Version: "1.22.1", Config: "/etc/nginx/nginx.conf", Running: true, MasterPID: 812},
		WorkerUser: host.User{Name: "www-data"},
		ConfigTest: checks.ConfigTest{Ran: true, OK: true, Output: "syntax is ok"},
		Since:      time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC),
		Targets: []nginx.Target{{Kind: "fastcgi", Network: "unix", Address: sock, Path: "/run/php/php8.2-fpm.sock",
			ReferencedAt: []nginx.Pos{{File: "/etc/nginx/sites-enabled/app", Line: 12}}}},
		Probes:    map[string]probe.Result{sock: {Status: probe.Connected, Duration: 1200 * time.Microsecond}},
		Listeners: []host.Listener{{Network: "unix", Address: "/run/php/php8.2-fpm.sock", PID: 901, Process: "php-fpm8.2", User: "root"}},
	}
	long := "error.log: 2026/11/24 05:13:28 [crit] 5680#5680: *1 connect() to " + sock + " failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1, server: shop.example.com, request: \"GET /index.php HTTP/1.1\", upstream: \"fastcgi://" + sock + ":\", host: \"shop.example.com\""
	o := &checks.Outcome{Snapshot: s, Complete: true,
		Causes: []checks.Cause{{ID: "socket-permission", Target: sock, Confidence: checks.High, Occurrences: 214,
			Summary:  "nginx workers run as www-data and may not connect to /run/php/php8.2-fpm.sock: socket root:root 0600.",
			Evidence: []string{"access for www-data: denied", long}}},
		Verdict: checks.Verdict{Status: "problem", Summary: "nginx workers run as www-data and may not connect to /run/php/php8.2-fpm.sock."},
		Steps:   []checks.StepResult{{Number: 6, Title: "Socket permissions", Status: checks.Fail, Checks: []checks.Result{{ID: "socket.access", Status: checks.Fail, Summary: "1 socket is closed to the workers.", Evidence: []string{}, Manual: []string{"ls -la SOCKET"}}}}},
	}
	fx := fixes.Fix{ID: "socket-permission:" + sock + ":chmod", Title: "Let www-data connect now", Transient: true,
		Commands: [][]string{{"chmod", "0660", "/run/php/php8.2-fpm.sock"}}, Undo: "ngxdoctor undo", Diff: "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n"}
	return Input{Outcome: o, Fixes: [][]fixes.Fix{{fx}}}
}

// TestJSONContract decodes the report as a script would and checks the
// fields the design fixes.
func TestJSONContract(t *testing.T) {
	b, err := JSON(input())
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "nginx", "window", "verdict", "causes", "steps", "targets"} {
		if _, ok := r[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if r["schema"] != "ngxdoctor/report/v1" {
		t.Errorf("schema: got %v", r["schema"])
	}
	c := r["causes"].([]any)[0].(map[string]any)
	if c["id"] != "socket-permission" || c["confidence"] != "high" || c["occurrences"].(float64) != 214 {
		t.Errorf("cause: got %v", c)
	}
	f := c["fixes"].([]any)[0].(map[string]any)
	if argv := f["commands"].([]any)[0].([]any); argv[0] != "chmod" || len(argv) != 3 {
		t.Errorf("fix commands must be argv arrays: got %v", f["commands"])
	}
	tg := r["targets"].([]any)[0].(map[string]any)
	if tg["kind"] != "fastcgi" || tg["probe"].(map[string]any)["result"] != "connected" || tg["listener"].(map[string]any)["process"] != "php-fpm8.2" {
		t.Errorf("target: got %v", tg)
	}
	if tg["referenced_at"].([]any)[0] != "/etc/nginx/sites-enabled/app:12" {
		t.Errorf("referenced_at: got %v", tg["referenced_at"])
	}
	w := r["window"].(map[string]any)
	if w["since"] != "2026-11-24T05:00:00Z" {
		t.Errorf("window.since: got %v", w["since"])
	}
}

func TestTextFits80Columns(t *testing.T) {
	for _, color := range []bool{false, true} {
		out := string(Text(input(), color))
		if !color && strings.Contains(out, "\x1b[") {
			t.Errorf("plain text has escape codes")
		}
		for _, line := range strings.Split(out, "\n") {
			if w := lipglossWidth(line); w > Width {
				t.Errorf("color=%v: line of %d columns: %q", color, w, line)
			}
		}
		for _, want := range []string{"socket-permission", "ngxdoctor fix", "Socket permissions", "high confidence, 214 log"} {
			if !strings.Contains(out, want) {
				t.Errorf("text report lacks %q:\n%s", want, out)
			}
		}
	}
}

func TestMarkdownForTheTicket(t *testing.T) {
	md := string(Markdown(input()))
	for _, want := range []string{"## Verdict", "### 1. `socket-permission`", "chmod 0660 /run/php/php8.2-fpm.sock", "```diff", "_Transient", "By hand: `ls -la SOCKET`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestArgvQuotesOnlyWhatNeedsIt(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"chmod", "0660", "/run/x.sock"}, "chmod 0660 /run/x.sock"},
		{[]string{"setsebool", "-P", "httpd_can_network_connect", "1"}, "setsebool -P httpd_can_network_connect 1"},
		{[]string{"echo", "it's $HOME"}, `echo 'it'\''s $HOME'`},
		{[]string{"x", ""}, "x ''"},
	} {
		if got := Argv(tc.in); got != tc.want {
			t.Errorf("Argv(%q): got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func lipglossWidth(s string) int { return lipgloss.Width(s) }

// TestJSONHost: the root carries the host the evidence came from and when;
// a recording without host facts leaves "host" out instead of inventing one.
func TestJSONHost(t *testing.T) {
	in := input()
	s := in.Outcome.Snapshot
	s.Taken = time.Date(2026, 11, 24, 5, 14, 0, 0, time.UTC)
	s.Machine = host.Machine{Name: "shop-web-1", OS: "debian 12.8", Kernel: "6.1.0-28-amd64", Uptime: 36*time.Hour + 90*time.Second}
	b, err := JSON(in)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Host        map[string]any `json:"host"`
		GeneratedAt string         `json:"generated_at"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "shop-web-1", "os": "debian 12.8", "kernel": "6.1.0-28-amd64", "uptime_s": float64(36*3600 + 90)}
	for k, v := range want {
		if r.Host[k] != v {
			t.Errorf("host.%s: got %v, want %v", k, r.Host[k], v)
		}
	}
	if r.GeneratedAt != "2026-11-24T05:14:00Z" {
		t.Errorf("generated_at: got %q", r.GeneratedAt)
	}
	text := string(Text(in, false))
	if !strings.Contains(text, "host: shop-web-1 (debian 12.8, kernel 6.1.0-28-amd64, up 1d 12h)") {
		t.Errorf("text report lacks the host line:\n%s", text)
	}
	if md := string(Markdown(in)); !strings.Contains(md, "- **Host:** shop-web-1 (debian 12.8") {
		t.Errorf("markdown lacks the host line:\n%s", md)
	}

	s.MachineErr = errors.New("host name and OS: not in the recording")
	b, _ = JSON(in)
	if strings.Contains(string(b), `"host"`) {
		t.Errorf("a report without host facts must leave host out:\n%s", b)
	}
	if strings.Contains(string(Text(in, false)), "\nhost: ") {
		t.Errorf("text report shows a host it does not know")
	}
}
