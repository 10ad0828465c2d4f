package checks_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor"
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// twoLabs starts two real nginx instances (healthy labs), each with its
// own -c.
func twoLabs(t *testing.T, ctx context.Context) (*lab.Lab, *lab.Lab) {
	t.Helper()
	labtest.Need(t, os.Geteuid() == 0, "the labs run nginx workers as www-data: root is needed")
	sc, _ := lab.Find("healthy")
	a, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// TestConfigOfAStoppedNginx: with -c naming a config whose nginx is
// stopped while another nginx runs, the report says that config's nginx is
// not running, the other master is named but neither diagnosed nor
// signalled: its workers are the same ones after the diagnosis and the
// fix planning.
func TestConfigOfAStoppedNginx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	running, stopped := twoLabs(t, ctx)
	if err := stopped.StopNginx(); err != nil {
		t.Fatal(err)
	}
	workers := running.Workers()
	if len(workers) == 0 {
		t.Fatal("the running lab has no workers")
	}

	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: stopped.Config, Nginx: stopped.Nginx, Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := o.Snapshot.Install
	if in.Running || in.MasterPID != 0 || len(in.WorkerPIDs) != 0 {
		t.Fatalf("took a master for a stopped nginx: %+v", in)
	}
	if len(o.Causes) == 0 || o.Causes[0].ID != checks.CauseNginxNotRunning || !strings.Contains(o.Causes[0].Summary, stopped.Config) {
		t.Fatalf("causes: got %+v, want nginx-not-running for %s first", o.Causes, stopped.Config)
	}
	other := "pid " + itoa(running.NginxPID()) + " runs " + running.Config
	if !strings.Contains(in.Chosen, "no nginx master runs "+stopped.Config) || !strings.Contains(in.Chosen, other) {
		t.Errorf("chosen: %q, want it to say no master runs %s and name %q", in.Chosen, stopped.Config, other)
	}
	if !strings.Contains(strings.Join(o.Causes[0].Evidence, "\n"), other) {
		t.Errorf("evidence %q does not name the other master", o.Causes[0].Evidence)
	}
	text := string(report.Text(report.Input{Outcome: o, Fixes: fixes.Plan(o)}, false))
	if !strings.Contains(text, "not running") || !strings.Contains(text, "which nginx: no nginx master runs") {
		t.Errorf("the text report does not say it:\n%s", text)
	}
	for _, fx := range fixes.Plan(o) {
		for _, f := range fx {
			for _, c := range f.Commands {
				if strings.Contains(strings.Join(c, " "), itoa(running.NginxPID())) {
					t.Errorf("fix %s would touch the other master: %q", f.ID, c)
				}
			}
		}
	}
	// A signal for the stopped config finds no master, and never the other.
	if m, err := nginx.VerifyMaster(ctx, host.Live(), int32(running.NginxPID()), stopped.Config); err == nil {
		t.Errorf("verified pid %d, the other nginx's master, for %s", m.PID, stopped.Config)
	}
	if after := running.Workers(); !maps.Equal(workers, after) {
		t.Fatalf("the other nginx was signalled: workers %v became %v", workers, after)
	}
}

// TestSeveralMastersListed: without -c, every master is listed with its
// config and the report says which was taken and why; a pid selects one.
func TestSeveralMastersListed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, b := twoLabs(t, ctx)

	// Other nginx masters may run on this host too: both labs must be
	// among those listed, and the one taken must be one of the list.
	in, err := nginx.Find(ctx, host.Live(), nginx.Want{})
	if err != nil {
		t.Fatal(err)
	}
	configs := map[int32]string{}
	for _, m := range in.Masters {
		configs[m.PID] = m.Config
	}
	for _, l := range []*lab.Lab{a, b} {
		if configs[int32(l.NginxPID())] != l.Config {
			t.Errorf("master %d: listed with %q, want %s (all: %+v)", l.NginxPID(), configs[int32(l.NginxPID())], l.Config, in.Masters)
		}
	}
	if _, ok := configs[in.MasterPID]; !ok || !in.Running {
		t.Fatalf("took pid %d, not one of the listed masters", in.MasterPID)
	}
	if !strings.Contains(in.Chosen, "nginx masters run; took") || !strings.Contains(in.Chosen, "pass -c CONFIG") || in.Config != configs[in.MasterPID] {
		t.Errorf("chosen: %q (config %s), want the choice and how to take another explained", in.Chosen, in.Config)
	}

	// The wizard's switch: a pid picks that master, and the JSON report
	// lists them all.
	o, err := checks.Run(ctx, host.Live(), checks.Options{MasterPID: int32(b.NginxPID()), Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Snapshot.Install.MasterPID != int32(b.NginxPID()) || o.Snapshot.Install.Config != b.Config {
		t.Fatalf("asked for pid %d, got %d running %s", b.NginxPID(), o.Snapshot.Install.MasterPID, o.Snapshot.Install.Config)
	}
	r := report.Build(report.Input{Outcome: o})
	seen := 0
	for _, m := range r.Nginx.Masters {
		if (m.PID == int32(a.NginxPID()) && m.Config == a.Config) || (m.PID == int32(b.NginxPID()) && m.Config == b.Config) {
			seen++
		}
	}
	if seen != 2 || !strings.Contains(r.Nginx.Chosen, "was asked for") {
		t.Errorf("JSON nginx: masters %+v, chosen %q", r.Nginx.Masters, r.Nginx.Chosen)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRunIncomplete replays the demo incident: run to the end it is
// complete; run under a context already cancelled (Ctrl-C at once) it is
// not, and its verdict is neither "ok" nor a cause.
func TestRunIncomplete(t *testing.T) {
	rec, err := host.LoadRecording(ngxdoctor.DemoRecording)
	if err != nil {
		t.Fatal(err)
	}
	opts := checks.Options{Since: checks.DefaultWindow, Timeout: checks.DefaultTimeout}
	o, err := checks.Run(context.Background(), host.Replay(rec), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Complete || len(o.Unfinished) != 0 || o.Verdict.Status != "problem" {
		t.Fatalf("a full run: complete %v, unfinished %q, verdict %+v", o.Complete, o.Unfinished, o.Verdict)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o, err = checks.Run(ctx, host.Replay(rec), opts, nil)
	if err != nil {
		if !errors.Is(err, checks.ErrInterrupted) {
			t.Fatalf("cancelled run: got %v, want ErrInterrupted", err)
		}
		return
	}
	if o.Complete || !o.Interrupted || o.Verdict.Status != "incomplete" || !strings.Contains(o.Verdict.Summary, "did not complete") {
		t.Fatalf("a cancelled run: complete %v, interrupted %v, verdict %+v", o.Complete, o.Interrupted, o.Verdict)
	}
}
