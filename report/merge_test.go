package report

import (
	"bytes"
	gocontext "context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/ngxdoctor/ngxdoctor"
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// demoReport is the real JSON report of the demo's recorded incident (a
// real nginx and php-fpm whose socket was closed to the workers).
func demoReport(t *testing.T) []byte {
	t.Helper()
	rec, err := host.LoadRecording(ngxdoctor.DemoRecording)
	if err != nil {
		t.Fatal(err)
	}
	o, err := checks.Run(gocontext.Background(), host.Replay(rec), checks.Options{Since: checks.DefaultWindow, Timeout: checks.DefaultTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := JSON(Input{Outcome: o, Fixes: fixes.Plan(o)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// healthyReport is the fixture's report with its cause gone: what check
// writes for a host where every request through nginx succeeds.
func healthyReport(t *testing.T) []byte {
	t.Helper()
	in := input()
	in.Outcome.Causes = nil
	in.Fixes = nil
	in.Outcome.Verdict = checks.Verdict{Status: "ok", Summary: "nginx answers and every backend accepts."}
	b, err := JSON(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withHost adds the host object and generated_at in the agreed shape
// (ownership.md), as reports made on a host carry them.
func withHost(t *testing.T, b []byte, name, at string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["host"] = map[string]any{"name": name, "os": "debian 12", "kernel": "6.1.0-28-amd64", "uptime_s": 86400}
	m["generated_at"] = at
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutHost is a report as versions before the host object wrote it.
func withoutHost(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "host")
	delete(m, "generated_at")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// interrupted is a report of a run stopped before its probes finished
// (SIGTERM): no cause, verdict incomplete, complete false.
func interrupted(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["complete"] = false
	m["verdict"] = map[string]any{"status": "incomplete", "summary": "The check was interrupted before the probes finished: nothing is known about the backends."}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fleetFiles is a small fleet: one host with a cause, one ok, one whose
// report is an older one without the host object, one whose check printed
// an error instead of a report, one truncated, one missing.
func fleetFiles(t *testing.T) []string {
	dir := t.TempDir()
	demo := demoReport(t)
	return []string{
		write(t, dir, "web1.json", withHost(t, healthyReport(t), "web1", "2026-11-24T06:01:31Z")),
		write(t, dir, "web2.json", withHost(t, demo, "web2", "2026-11-24T06:01:32Z")),
		write(t, dir, "old.json", withoutHost(t, demo)),
		write(t, dir, "web3.json", interrupted(t, withHost(t, healthyReport(t), "web3", "2026-11-24T06:01:33Z"))),
		write(t, dir, "web4.json", []byte("Error: no nginx found\nlooked for a running nginx master, `nginx` on PATH and /etc/nginx/nginx.conf\n")),
		write(t, dir, "web5.json", demo[:len(demo)/2]),
		filepath.Join(dir, "web6.json"),
	}
}

func mergeFiles(paths []string) Fleet {
	var hs []FleetHost
	for _, p := range paths {
		hs = append(hs, ReadFile(p))
	}
	return MergeHosts(hs)
}

// TestMergeFleet: what a fleet owner reads: each host's verdict, the
// demo's cause with its target, and every host that could not be checked
// with the reason; the worst exit code.
func TestMergeFleet(t *testing.T) {
	paths := fleetFiles(t)
	f := mergeFiles(paths)
	if f.ExitCode != 2 {
		t.Errorf("exit code %d, want 2 (three hosts could not be checked, one is incomplete)", f.ExitCode)
	}
	got := map[string]FleetHost{}
	for _, h := range f.Hosts {
		got[h.Name] = h
	}
	for name, want := range map[string]string{"web1": HostOK, "web2": HostProblem, "old": HostProblem, "web3": HostIncomplete,
		"web4": HostNotChecked, "web5": HostNotChecked, "web6": HostNotChecked} {
		if got[name].Status != want {
			t.Errorf("%s: status %q, want %q (%s)", name, got[name].Status, want, got[name].Summary)
		}
	}
	web2 := got["web2"]
	if len(web2.Causes) == 0 || web2.Causes[0].ID != "socket-permission" || web2.Causes[0].Target != "unix:/run/php/php8.2-fpm.sock" {
		t.Errorf("web2 causes: %+v, want socket-permission on unix:/run/php/php8.2-fpm.sock", web2.Causes)
	}
	if web2.OS != "debian 12" || web2.GeneratedAt == nil || web2.GeneratedAt.Format("15:04:05") != "06:01:32" || web2.UptimeS == nil {
		t.Errorf("web2 host facts not read: %+v", web2)
	}
	if got["old"].GeneratedAt != nil || got["old"].OS != "" {
		t.Errorf("a report without host facts got some: %+v", got["old"])
	}
	for name, reason := range map[string]string{"web4": "not a JSON report: Error: no nginx found",
		"web5": "not a valid JSON report", "web6": "no such file"} {
		if !strings.Contains(got[name].Summary, reason) {
			t.Errorf("%s: reason %q, want it to say %q", name, got[name].Summary, reason)
		}
	}
	// The worst come first: an on-call reading forty hosts starts there.
	if f.Hosts[0].Status != HostNotChecked || f.Hosts[len(f.Hosts)-1].Name != "web1" {
		t.Errorf("order: %v", names(f.Hosts))
	}
	if len(f.ByCause) != 1 || f.ByCause[0].ID != "socket-permission" || strings.Join(f.ByCause[0].Hosts, ",") != "old,web2" {
		t.Errorf("by cause: %+v", f.ByCause)
	}

	// The golden files hold the real renderers' text; paths are the temp dir's.
	dir := filepath.Dir(paths[0])
	txt := strings.ReplaceAll(string(FleetText(f)), dir, "DIR")
	golden.RequireEqual(t, []byte(txt))
	t.Run("markdown", func(t *testing.T) {
		golden.RequireEqual(t, []byte(strings.ReplaceAll(string(FleetMarkdown(f)), dir, "DIR")))
	})

	b, err := FleetJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	var back Fleet
	if err := json.Unmarshal(b, &back); err != nil || back.Schema != FleetSchema || len(back.Hosts) != 7 || back.ExitCode != 2 {
		t.Errorf("JSON does not read back: %v %+v", err, back)
	}
}

func names(hs []FleetHost) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name+":"+h.Status)
	}
	return out
}

func TestMergeExitCode(t *testing.T) {
	ok, err := ReadReport(healthyReport(t))
	if err != nil {
		t.Fatal(err)
	}
	problem, err := ReadReport(demoReport(t))
	if err != nil {
		t.Fatal(err)
	}
	incomplete := problem
	incomplete.Status = HostIncomplete
	for _, tc := range []struct {
		hosts []FleetHost
		want  int
	}{
		{[]FleetHost{ok, ok}, 0},
		{[]FleetHost{ok, problem}, 1},
		{[]FleetHost{problem, incomplete, ok}, 2},
		{[]FleetHost{ok, notChecked("x", "x.json", os.ErrNotExist)}, 2},
		{nil, 2},
	} {
		if got := MergeHosts(tc.hosts).ExitCode; got != tc.want {
			t.Errorf("%v: exit %d, want %d", names(tc.hosts), got, tc.want)
		}
	}
}

// TestReadReportShapes: what the reader makes of reports older and newer
// than this version, and of input that only looks like one.
func TestReadReportShapes(t *testing.T) {
	demo := demoReport(t)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(demo, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name   string
		in     []byte
		status string
		err    string
	}{
		{"the demo", demo, HostProblem, ""},
		{"an interrupted run", edit(func(m map[string]any) { m["complete"] = false }), HostIncomplete, ""},
		{"an incomplete verdict", edit(func(m map[string]any) {
			m["causes"] = []any{}
			m["verdict"] = map[string]any{"status": "incomplete", "summary": "interrupted before the probes finished"}
		}), HostIncomplete, ""},
		{"a verdict this version does not know", edit(func(m map[string]any) {
			m["causes"] = []any{}
			m["verdict"] = map[string]any{"status": "unknown", "summary": "the probes were cancelled"}
		}), HostIncomplete, ""},
		{"another schema", edit(func(m map[string]any) { m["schema"] = "ngxdoctor/report/v9" }), "", `schema "ngxdoctor/report/v9"`},
		{"no schema", []byte(`{"verdict":{"status":"ok"}}`), "", "no schema"},
		{"no verdict", []byte(`{"schema":"ngxdoctor/report/v1"}`), "", "no verdict"},
		{"two documents", append(append([]byte{}, demo...), demo...), "", "more than one"},
		{"empty", []byte("\n"), "", "empty"},
		{"an array", []byte(`[1,2]`), "", "not a JSON report"},
		{"prom text", []byte("# HELP ngxdoctor_up 1 when\nngxdoctor_up 1\n"), "", "not a JSON report: # HELP ngxdoctor_up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ReadReport(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || h.Status != tc.status {
				t.Fatalf("status %q err %v, want %q", h.Status, err, tc.status)
			}
		})
	}

	// A host name is input too: a terminal escape in it never reaches the screen.
	b := withHost(t, demo, "web\x1b]0;owned\x07\nevil", "2026-11-24T06:01:32Z")
	h, err := ReadReport(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(h.Name, "\x1b\x07\n") {
		t.Errorf("control characters kept in %q", h.Name)
	}
}

// TestReadStream: JSON lines with a broken one between, and whole
// indented reports one after another, as `cat a.json b.json |` gives.
func TestReadStream(t *testing.T) {
	line := func(b []byte) []byte {
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		return c.Bytes()
	}
	demo, healthy := demoReport(t), healthyReport(t)
	var in bytes.Buffer
	in.Write(line(withHost(t, demo, "web2", "2026-11-24T06:01:32Z")))
	in.WriteString("\n")
	in.Write(line(demo)[:200])
	in.WriteString("\n")
	in.Write(line(healthy))
	in.WriteString("\n")
	hs := ReadStream(&in, "stdin")
	if len(hs) != 3 {
		t.Fatalf("got %d entries, want 3: %v", len(hs), names(hs))
	}
	if hs[0].Name != "web2" || hs[0].Status != HostProblem || hs[1].Status != HostNotChecked || hs[1].Source != "stdin #2" || hs[2].Status != HostOK || hs[2].Name != "stdin #3" {
		t.Errorf("JSON lines: %v", names(hs))
	}

	hs = ReadStream(bytes.NewReader(append(append([]byte{}, demo...), healthy...)), "stdin")
	if len(hs) != 2 || hs[0].Status != HostProblem || hs[1].Status != HostOK {
		t.Errorf("indented reports: %v", names(hs))
	}

	hs = ReadStream(strings.NewReader("  \n"), "stdin")
	if len(hs) != 1 || hs[0].Status != HostNotChecked || !strings.Contains(hs[0].Summary, "no report") {
		t.Errorf("empty stdin: %+v", hs)
	}
}

// FuzzReadReport: any bytes give a report or an error, never a panic, and
// a report always has a state the table knows.
func FuzzReadReport(f *testing.F) {
	f.Add([]byte(`{"schema":"ngxdoctor/report/v1","verdict":{"status":"ok"},"causes":[]}`))
	f.Add([]byte(`{"schema":"ngxdoctor/report/v1","host":{"name":"a","uptime_s":1},"generated_at":"2026-11-24T06:01:32Z","verdict":{"status":"problem"},"causes":[{"id":"backend-down","target":"127.0.0.1:1"}],"complete":false}`))
	f.Add([]byte("Error: no nginx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadReport(b)
		if err != nil {
			return
		}
		if rank(h.Status) == 3 || h.Causes == nil {
			t.Fatalf("a report read as %+v", h)
		}
		f := MergeHosts([]FleetHost{h})
		if f.ExitCode != exitOf(h.Status) {
			t.Fatalf("exit %d for %s", f.ExitCode, h.Status)
		}
		FleetText(f)
		FleetMarkdown(f)
	})
}

// FuzzReadStream: any stdin gives at least one row, each with a source.
func FuzzReadStream(f *testing.F) {
	f.Add([]byte("{\"schema\":\"ngxdoctor/report/v1\",\"verdict\":{\"status\":\"ok\"}}\n{\"schema\":\n{}\n"))
	f.Add([]byte("{\n  \"schema\": \"ngxdoctor/report/v1\"\n}\n{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs := ReadStream(bytes.NewReader(b), "stdin")
		if len(hs) == 0 {
			t.Fatal("no row for the input")
		}
		for _, h := range hs {
			if h.Source == "" || h.Name == "" {
				t.Fatalf("row without a source or name: %+v", h)
			}
		}
	})
}

// TestMergeCapsTargets: 200 broken backends on a host fit a screen: the
// text lists a few targets per cause and says how many more; JSON has all.
func TestMergeCapsTargets(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(demoReport(t), &m); err != nil {
		t.Fatal(err)
	}
	var causes []any
	for i := 0; i < 200; i++ {
		causes = append(causes, map[string]any{"id": "backend-down", "target": "127.0.0.1:" + strconv.Itoa(8000+i), "summary": "refused"})
	}
	m["causes"] = causes
	b, _ := json.Marshal(m)
	h, err := ReadReport(b)
	if err != nil {
		t.Fatal(err)
	}
	h.Name = "web9"
	f := MergeHosts([]FleetHost{h})
	txt := string(FleetText(f))
	if n := strings.Count(txt, "\n"); n > 12 || !strings.Contains(txt, "and 197 more") || !strings.Contains(txt, "127.0.0.1:8002") || strings.Contains(txt, "127.0.0.1:8003") {
		t.Errorf("200 targets, %d lines:\n%s", n, txt)
	}
	if md := string(FleetMarkdown(f)); !strings.Contains(md, "and 197 more") {
		t.Errorf("markdown does not cap:\n%s", md)
	}
	if len(f.Hosts[0].Causes) != 200 {
		t.Errorf("JSON keeps %d causes, want 200", len(f.Hosts[0].Causes))
	}
}
