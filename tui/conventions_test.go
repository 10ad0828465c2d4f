package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// While probes run the bar names what it waits for and until when.
func TestProgressNamesWhatIsAwaited(t *testing.T) {
	m := New(testConfig(socketOutcome()))
	defer m.quit()
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.launch(false)
	o := socketOutcome()
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "config"}})
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "probe", Done: 197, Total: 200, Deadline: time.Now().Add(2100 * time.Millisecond)}})
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "step", Step: &o.Steps[1]}})
	s := screen(m)
	mustContain(t, s, "Checking: 1 of 10 steps done · waiting for 3 of 200 probes, deadline ", " s left", "✓  2 Upstream configuration")
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "probe", Done: 200, Total: 200}})
	mustNotContain(t, screen(m), "waiting for")
	// r during a run supersedes it, and the screen says so.
	press(m, "r")
	mustContain(t, screen(m), "the previous run was cancelled")
}

// At 80x24 a step that reads the probes says how many it still waits
// for, beside the steps already in; once they are in it says nothing more.
func TestStepsWaitingForProbesSayHowMany(t *testing.T) {
	m := New(testConfig(socketOutcome()))
	defer m.quit()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.launch(false)
	o := socketOutcome()
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "config"}})
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "probe", Done: 1, Total: 4, Deadline: time.Now().Add(3 * time.Second)}})
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "step", Step: &o.Steps[1]}})
	s := screen(m)
	fits(t, s, 80, 24)
	lines := strings.Split(s, "\n")
	var step1, step2, step6 string
	for _, l := range lines {
		switch {
		case strings.Contains(l, " 1 Backend status"):
			step1 = l
		case strings.Contains(l, " 2 Upstream configuration"):
			step2 = l
		case strings.Contains(l, " 6 Socket permissions"):
			step6 = l
		}
	}
	mustContain(t, step1, "waiting for 3 of 4 probes")
	mustContain(t, step2, "✓")
	mustNotContain(t, step2, "waiting")
	if step6 == "" {
		t.Fatalf("step 6 is not on the 80x24 screen:\n%s", s)
	}
	mustNotContain(t, step6, "waiting") // it reads no probe
	// Step 1 is selected: its detail says what it waits for.
	mustContain(t, s, "this step reads the live probes, waiting for 3 of 4 probes")
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "probe", Done: 4, Total: 4}})
	mustNotContain(t, screen(m), "waiting for")
}

func TestSuspendAndRepaint(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'z', Mod: tea.ModCtrl})
	if cmd == nil {
		t.Fatal("ctrl+z does nothing")
	}
	if _, ok := cmd().(tea.SuspendMsg); !ok {
		t.Fatal("ctrl+z does not suspend")
	}
	_, cmd = m.Update(tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl})
	if cmd == nil || cmd() != tea.ClearScreen() {
		t.Fatal("ctrl+l does not repaint")
	}
	press(m, "?")
	mustContain(t, strings.Join(strings.Fields(screen(m)), " "), "ctrl+l repaint", "ctrl+z suspend")
}

// At 60 columns the help line keeps ? and q.
func TestSixtyColumnsKeepQuit(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 60, 20)
	s := screen(m)
	fits(t, s, 60, 20)
	last := strings.Split(s, "\n")[19]
	mustContain(t, last, "q quit", "? keys", "l learn")
}

// On 16 colours the selected row is in reverse video.
func TestSixteenColoursSelection(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	cfg := testConfig(socketOutcome())
	cfg.NoColor = false
	m := ready(t, cfg, socketOutcome(), 120, 36)
	m.Update(tea.ColorProfileMsg{Profile: colorprofile.ANSI})
	if !strings.Contains(m.View().Content, "\x1b[1;7m") && !strings.Contains(m.View().Content, ";7m") {
		t.Fatal("the selected row is not in reverse video on a 16-colour terminal")
	}
}

// Resizes in the middle of a run never leave a line wider than the screen.
func TestResizeDuringRun(t *testing.T) {
	m := New(testConfig(socketOutcome()))
	defer m.quit()
	m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	m.launch(false)
	o := manyOutcome()
	for i, size := range [][2]int{{80, 24}, {61, 19}, {133, 41}, {70, 22}, {100, 30}} {
		m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "step", Step: &o.Steps[i]}})
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		fits(t, ansi.Strip(m.View().Content), size[0], size[1])
	}
	m.Update(outcomeMsg{gen: m.gen, outcome: o, plans: socketPlan(o)})
	m.Update(tea.WindowSizeMsg{Width: 72, Height: 21})
	fits(t, ansi.Strip(m.View().Content), 72, 21)
}

// With two nginx masters the context line says so, and s runs the checks
// again against the other master's config.
func TestSwitchMaster(t *testing.T) {
	o := socketOutcome()
	o.Snapshot.Install.Masters = []nginx.Master{{PID: o.Snapshot.Install.MasterPID, Config: "/etc/nginx/nginx.conf"}, {PID: 4242, Config: "/opt/other/nginx.conf"}}
	var got checks.Options
	cfg := testConfig(o)
	cfg.Run = func(ctx context.Context, sys host.System, opts checks.Options, p func(checks.Event)) (*checks.Outcome, error) {
		got = opts
		return fakeRun(o, nil)(ctx, sys, opts, p)
	}
	m := ready(t, cfg, o, 80, 24)
	mustContain(t, screen(m), "2 nginx masters: s to switch")
	cmd := press(m, "s")
	mustContain(t, screen(m), "switched to the nginx master 4242 (/opt/other/nginx.conf)")
	finishRun(t, m, cmd)
	if got.MasterPID != 4242 || got.Config != "/opt/other/nginx.conf" {
		t.Fatalf("s ran the checks with master %d config %q, want 4242 /opt/other/nginx.conf", got.MasterPID, got.Config)
	}
}

// An incomplete run never says healthy.
func TestIncompleteIsNotHealthy(t *testing.T) {
	o := healthyOutcome()
	o.Complete = false
	o.Verdict = checks.Verdict{Status: "incomplete", Summary: "Incomplete: the probes did not finish."}
	m := ready(t, testConfig(o), o, 80, 24)
	s := strings.Split(screen(m), "\n")[0]
	mustContain(t, s, "! Incomplete: the probes did not finish.")
	mustNotContain(t, s, "healthy")
}
