package fixes

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
)

// TestDiagnosisToFix runs the whole path on the lab's real failures: the
// diagnosis names the cause with its facts, the fix turns the 502/504 into
// a 200, and undo brings the failure and the files back exactly.
func TestDiagnosisToFix(t *testing.T) {
	needRoot(t, phpFPM)
	for _, layout := range []string{"multi-line", "one-line"} {
		t.Run(layout, func(t *testing.T) { diagnosisToFix(t, layout == "one-line") })
	}
}

// oneLine writes every location and upstream block of a config on one
// line, as many real configs do: "location / { proxy_pass ...; ... }".
func oneLine(t *testing.T, data []byte) []byte {
	t.Helper()
	tree, err := parseConf(data)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*directive
	tree.walk(func(d *directive) {
		if (d.Name == "location" || d.Name == "upstream") && d.Block != nil && (d.Parent == nil || d.Parent.Name != "location") {
			blocks = append(blocks, d)
		}
	})
	out := append([]byte(nil), data...)
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		flat := strings.Join(strings.Fields(string(data[b.Start():b.End])), " ")
		out = append(out[:b.Start()], append([]byte(flat), out[b.End:]...)...)
	}
	return out
}

func diagnosisToFix(t *testing.T, flat bool) {
	for _, tc := range []struct{ scenario, kind string }{
		{"header-too-big", "buffers"},
		{"wrong-address", "address"},
		{"wrong-address-port", "address"},
		{"upstream-timeout", "timeout"},
		{"socket-permission", "chmod"},
		{"socket-permission", "pool"},
		{"socket-permission-dir", "dir"},
		{"tls-handshake", "http"},
		{"firewall-blocked", "firewall-iptables-1"},
		{"firewall-blocked-drop", "firewall-iptables-1"},
	} {
		t.Run(tc.scenario+"/"+tc.kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			s, ok := lab.Find(tc.scenario)
			if !ok {
				t.Fatalf("no lab scenario %s", tc.scenario)
			}
			l, err := lab.Start(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if flat {
				if !strings.Contains(readFile(t, l.Site), "location") {
					t.Skip("no location block to write on one line")
				}
				os.WriteFile(l.Site, oneLine(t, []byte(readFile(t, l.Site))), 0o644)
				if err := l.Reload(ctx); err != nil {
					t.Fatal(err)
				}
				t.Logf("one-line layout:\n%s", readFile(t, l.Site))
			}
			l.Trigger(ctx, 2)
			o, cause := diagnosed(ctx, t, l, checks.CauseID(s.Cause))
			files := []string{l.Site, l.Config}
			if l.PHPFPM != "" {
				files = append(files, l.PHPFPM)
			}
			before := map[string]string{}
			for _, f := range files {
				before[f] = readFile(t, f)
			}
			e := testEngine(t)
			f := fixByKind(t, e.For(o, cause), tc.kind)
			t.Logf("%s\n%q\n%s", f.Title, f.Commands, f.Diff)
			a := apply(t, e, o, f)
			if !a.Verified {
				t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
			}
			if got, err := l.Get(ctx, l.Path); got != 200 {
				t.Fatalf("GET %s after the fix: got %d (%v), want 200", l.Path, got, err)
			}
			// Verified by the very requests that failed before the fix.
			if len(a.Requests) == 0 {
				t.Fatalf("verified without asking again the requests that failed:\n%s", strings.Join(a.Log, "\n"))
			}
			for _, q := range a.Requests {
				if !q.OK || q.Before == q.After {
					t.Fatalf("replayed %+v", q)
				}
			}
			// The run after the fix (the wizard's rerun) asks them again,
			// though the window now starts after the fix.
			var failed []checks.Replay
			for _, r := range o.Snapshot.Replays {
				if r.Failed() {
					failed = append(failed, r)
				}
			}
			o2, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx,
				ErrorLogs: []string{l.ErrorLog}, AccessLogs: []string{l.AccessLog}, NotBefore: time.Now(), Again: failed}, nil)
			// With the default deadline (3 s), as the wizard reruns: the
			// slow backend takes 3 s, which a raised timeout now allows.
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range failed {
				found := false
				for _, r2 := range o2.Snapshot.Replays {
					if r2.Path == r.Path && r2.Host == r.Host {
						found = true
						if r2.Failed() {
							t.Errorf("after the fix %s still answers %s", r2.Text(), r2.Answer())
						}
					}
				}
				if !found {
					t.Errorf("the run after the fix did not ask %s again", r.Text())
				}
			}
			for _, c := range o2.Causes {
				if c.ID == cause.ID && c.Target == cause.Target {
					t.Errorf("after the fix the diagnosis still finds %s at %s", c.ID, c.Target)
				}
			}
			undo(t, e, "")
			for _, f := range files {
				if readFile(t, f) != before[f] {
					t.Errorf("%s differs after undo", f)
				}
			}
			if got, _ := l.Get(ctx, l.Path); got != s.Status {
				t.Fatalf("GET %s after undo: got %d, want %d", l.Path, got, s.Status)
			}
		})
	}
}
