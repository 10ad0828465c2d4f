package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// ready builds a model that has its size and a finished outcome, delivered
// as the program would deliver them.
func ready(t *testing.T, cfg Config, o *checks.Outcome, w, h int) *Model {
	t.Helper()
	m := New(cfg)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.launch(false) // numbers the run; the test delivers its messages itself
	var plans [][]fixes.Fix
	if cfg.Plan != nil {
		plans = cfg.Plan(o)
	}
	m.Update(outcomeMsg{gen: m.gen, outcome: o, plans: plans})
	t.Cleanup(m.quit)
	return m
}

func screen(m *Model) string { return ansi.Strip(m.View().Content) }

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// press sends keys and returns the last key's Cmd.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

// find runs cmd (and the batches it returns) until one gives a message of
// type T; spinner ticks and other messages are dropped.
func find[T tea.Msg](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	var zero T
	if cmd == nil {
		t.Fatalf("no command, want one giving %T", zero)
	}
	switch msg := cmd().(type) {
	case T:
		return msg
	case tea.BatchMsg:
		for _, c := range msg {
			if c == nil {
				continue
			}
			if got, ok := tryFind[T](c); ok {
				return got
			}
		}
	}
	t.Fatalf("no %T among the command's messages", zero)
	return zero
}

func tryFind[T tea.Msg](cmd tea.Cmd) (T, bool) {
	var zero T
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		if got, ok := msg.(T); ok {
			return got, true
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil {
					if got, ok := tryFind[T](c); ok {
						return got, true
					}
				}
			}
		}
	case <-time.After(2 * time.Second):
	}
	return zero, false
}

// finishRun feeds a run's messages to the model until its outcome.
func finishRun(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	ev, ok := tryFind[eventMsg](cmd)
	if !ok {
		t.Fatal("the run reported no event")
	}
	var msg tea.Msg = ev
	for range 100 {
		_, next := m.Update(msg)
		if _, done := msg.(outcomeMsg); done {
			return
		}
		if next == nil {
			t.Fatal("the run stopped before its outcome")
		}
		msg = next()
	}
	t.Fatal("no outcome after 100 events")
}

func mustContain(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q; got:\n%s", w, s)
		}
	}
}

func mustNotContain(t *testing.T, s string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Errorf("screen has %q, want it absent; got:\n%s", b, s)
		}
	}
}

// fits checks the frame is exactly the terminal: nothing scrolls away,
// nothing wraps.
func fits(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Errorf("got %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d wide, want <= %d: %q", i+1, lw, w, l)
		}
	}
}

func TestReadyScreen(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 36}, {79, 24}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			m := ready(t, testConfig(socketOutcome()), socketOutcome(), w, h)
			s := screen(m)
			fits(t, s, w, h)
			lines := strings.Split(s, "\n")
			// The answer is on top, whole.
			mustContain(t, lines[0], "✗ nginx workers run as www-data and may not connect to")
			mustContain(t, strings.Join(strings.Fields(s), " "), "such errors in the last 15m", "f fix: Let www-data connect now")
			// At 36 lines every step is listed; below, a window around
			// the selection, so that the detail keeps more than 7 lines.
			if h >= 30 {
				for _, st := range testSteps() {
					mustContain(t, s, st.Title)
				}
			} else if m.detail.Height() < 8 {
				t.Errorf("the detail gets %d lines at %dx%d, want 8 or more", m.detail.Height(), w, h)
			}
			// The top cause's step is selected, and its detail shown.
			mustContain(t, s, "› ✗  6 Socket permissions", "Step 6 of 10 · Socket permissions",
				"✗ 1 socket is missing or closed to the workers (www-data).")
			mustContain(t, lines[h-1], "? keys", "q quit", "f fix", "r rerun", "e report")
		})
	}
}

func TestWideShowsCauseAndFixesInDetail(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
	s := ansi.Strip(m.detail.GetContent()) + screen(m)
	mustContain(t, s, "Cause: socket-permission on unix:/run/php/php8.2-fpm.sock (most likely)",
		"log lines in the window · confirmed by a live probe",
		"[f] Let www-data connect now: socket group www-data, mode 0660 (was root:root",
		"Set listen.owner/group/mode in /etc/php/8.2/fpm/pool.d/www.conf",
		"By hand:", "$ ls -la /run/php/php8.2-fpm.sock",
		"✓ pass  ! warn  ✗ fail")
}

func TestStepsAppearLive(t *testing.T) {
	cfg := testConfig(socketOutcome())
	m := New(cfg)
	defer m.quit()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	mustContain(t, screen(m), "Looking for nginx")
	m.launch(false)
	gen := m.gen
	o := socketOutcome()
	m.Update(eventMsg{gen: gen, ev: checks.Event{Phase: "discovered"}})
	m.Update(eventMsg{gen: gen, ev: checks.Event{Phase: "step", Step: &o.Steps[0]}})
	m.Update(eventMsg{gen: gen, ev: checks.Event{Phase: "step", Step: &o.Steps[5]}})
	// A superseded run's event changes nothing.
	m.Update(eventMsg{gen: gen - 1, ev: checks.Event{Phase: "step", Step: &o.Steps[1]}})
	s := screen(m)
	mustContain(t, s, "Checking: 2 of 10 steps done", "✓  1 Backend status", "✗  6 Socket permissions")
	spin := m.spin.View()
	mustContain(t, s, spin+"  2 Upstream configuration")
	// No verdict before the outcome.
	mustNotContain(t, s, "root:root 0600;")
}

func TestStaleOutcomeIsDropped(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 80, 24)
	press(m, "r")
	old := m.gen - 1
	m.Update(outcomeMsg{gen: old, outcome: healthyOutcome()})
	mustNotContain(t, screen(m), healthyVerdict)
	mustContain(t, screen(m), "Looking for nginx")
}

func TestHealthy(t *testing.T) {
	m := ready(t, testConfig(healthyOutcome()), healthyOutcome(), 80, 24)
	s := screen(m)
	mustContain(t, strings.Split(s, "\n")[0], "✓ "+healthyVerdict)
	mustNotContain(t, s, "✗")
	press(m, "f")
	mustContain(t, screen(m), "nothing to fix: no cause found")
}

func TestNoNginx(t *testing.T) {
	m := New(testConfig(nil))
	defer m.quit()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.launch(false)
	m.Update(outcomeMsg{gen: m.gen, err: checks.ErrNoNginx})
	s := screen(m)
	mustContain(t, s, "? No nginx found on this machine. Try `ngxdoctor demo` for a")
	mustContain(t, strings.Join(strings.Fields(s), " "), "for a recorded incident.")
	fits(t, s, 80, 24)

	m.Update(outcomeMsg{gen: m.gen, err: errors.New("boom")})
	mustContain(t, screen(m), "Could not diagnose: boom")

	// f and e say the diagnosis failed, not that it is still running.
	press(m, "f")
	mustContain(t, screen(m), "nothing to fix: the diagnosis failed")
	if cmd := press(m, "e"); cmd != nil {
		t.Fatal("e after a failed diagnosis started a write")
	}
	mustContain(t, screen(m), "no report: the diagnosis failed")
}

func TestNavigation(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"n"}, "Step 7 of 10"},
		{[]string{"p", "p"}, "Step 5 of 10"},
		{[]string{"j"}, "Step 6 of 10"},
		{[]string{"down", "down"}, "Step 8 of 10"},
		{[]string{"k", "up"}, "Step 6 of 10"},
		{[]string{"p", "p", "p", "p", "p", "p", "p"}, "Step 1 of 10"},
		{[]string{"n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n"}, "Step 10 of 10"},
	}
	for _, tt := range tests {
		press(m, tt.keys...)
		if s := screen(m); !strings.Contains(s, tt.want) {
			t.Fatalf("after %v: want %q; got:\n%s", tt.keys, tt.want, s)
		}
	}
	if m.focus != focusSteps {
		t.Fatalf("focus %v, want steps", m.focus)
	}
	press(m, "enter")
	if m.focus != focusDetail {
		t.Fatalf("after enter focus %v, want detail", m.focus)
	}
	// In the detail ↓ scrolls, n still walks the steps.
	press(m, "down", "p")
	mustContain(t, screen(m), "Step 9 of 10")
	press(m, "esc")
	if m.focus != focusSteps {
		t.Fatalf("after esc focus %v, want steps", m.focus)
	}
}

func TestDetailScrollsAt80x24(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 80, 24)
	mustNotContain(t, screen(m), "[f] Let www-data")
	press(m, "enter", "G")
	s := screen(m)
	mustContain(t, s, "[f] Let www-data connect now")
	fits(t, s, 80, 24)
	// The verdict and the steps stay put while the detail scrolls.
	mustContain(t, s, "✗ nginx workers run as www-data", "6 Socket permissions", " of 4")
}

// r keeps the last results in view, marked as old, until the new ones come.
func TestRerunMarksOldResults(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
	cmd := press(m, "r")
	s := screen(m)
	mustContain(t, s, "the results below are from the previous run", "www-data may not connect")
	finishRun(t, m, cmd)
	mustNotContain(t, screen(m), "previous run")
}

func TestFixDialogApplyAndRerun(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 80, 24)
	press(m, "f")
	if m.focus != focusDialog {
		t.Fatalf("focus %v, want dialog", m.focus)
	}
	s := screen(m)
	mustContain(t, s, "Fix: Let www-data connect now",
		"$ chown root:www-data /run/php/php8.2-fpm.sock", "$ chmod 0660 /run/php/php8.2-fpm.sock",
		"Undo: ngxdoctor undo puts back root:root 0600", "Transient: this change is lost when the backend restarts",
		"y apply", "n cancel")
	fits(t, s, 80, 24)

	press(m, "tab")
	s = screen(m)
	mustContain(t, s, "Fix: Set listen.owner/group/mode")
	mustContain(t, m.dialog.view.GetContent(), "-listen.mode = 0600")
	// What does not fit at 80x24 is a scroll away, and the dialog says so.
	mustContain(t, m.dialog.view.GetContent(), "+listen.mode = 0660", "$ kill -USR2 ")
	mustContain(t, screen(m), "↓ more below")
	for range 30 {
		press(m, "down")
	}
	s = screen(m)
	mustContain(t, s, "+listen.mode = 0660")
	mustNotContain(t, s, "more below")

	press(m, "tab") // back to the first
	cmd := press(m, "y")
	mustContain(t, screen(m), "applying…")
	// While applying, n does not close the dialog.
	press(m, "n")
	if m.dialog == nil {
		t.Fatal("n closed the dialog while the fix was applied")
	}
	applied := find[appliedMsg](t, cmd)
	if !strings.HasPrefix(applied.applied.Fix.Title, "Let www-data connect now") {
		t.Fatalf("applied %q, want the first fix", applied.applied.Fix.Title)
	}
	_, rerun := m.Update(applied)
	s = screen(m)
	lines := strings.Split(s, "\n")
	// The outcome is on top, where the eye is: what, what changed, the
	// failing request asked again, the verdict now, the undo.
	mustContain(t, lines[0], "✓ applied and verified: Let www-data connect now")
	inOrder(t, strings.Join(lines[:8], "\n"), "changed: ran chown root:www-data "+sock,
		"verified: GET /index.php on shop.example.com: 502 → 200", "now: running the checks again…",
		"undo: ngxdoctor undo 20261124-060135-socket-permission")
	mustContain(t, s, "fix applied; running the checks again", "esc close")
	// The dialog starts with the same outcome; the engine's lines follow the plan.
	d := ansi.Strip(m.dialog.view.GetContent())
	mustContain(t, d, "What the engine did, step by step:", "done: chmod 0660 "+sock)
	if rerun == nil || m.state != stateDiscovering {
		t.Fatalf("after a fix the checks run again: state %v, cmd %v", m.state, rerun != nil)
	}
	finishRun(t, m, rerun)
	s = screen(m)
	// This fake run finds the same cause again: the top says so.
	mustContain(t, s, "✓ applied and verified", "checks ran again after the fix: socket-permission")
	inOrder(t, strings.Join(strings.Split(s, "\n")[:8], "\n"), "verified: ", "now: still a problem: socket-permission on unix:"+sock, "undo: ")
	mustNotContain(t, s, "running the checks again")
	// The next key ends the banner; esc closes the finished dialog.
	press(m, "esc")
	if m.dialog != nil || m.focus != focusSteps {
		t.Fatal("esc did not close the finished dialog")
	}
	mustNotContain(t, screen(m), "✓ applied and verified")
}

// From the fix's result, the main screen's keys work at once.
func TestKeysWorkFromTheFixResult(t *testing.T) {
	for _, k := range []string{"e", "r", "q"} {
		cfg := testConfig(socketOutcome())
		cfg.ReportDir = t.TempDir()
		m := ready(t, cfg, socketOutcome(), 80, 24)
		press(m, "f")
		m.Update(find[appliedMsg](t, press(m, "y")))
		cmd := press(m, k)
		if m.dialog != nil && k != "q" {
			t.Fatalf("%s left the finished dialog open", k)
		}
		switch k {
		case "e":
			if _, ok := tryFind[reportMsg](cmd); !ok {
				t.Fatal("e from the fix's result wrote no report")
			}
		case "r":
			if m.state != stateDiscovering {
				t.Fatalf("r from the fix's result: state %v, want a run", m.state)
			}
		case "q":
			if _, ok := tryFind[tea.QuitMsg](cmd); !ok {
				t.Fatal("q from the fix's result did not quit")
			}
		}
	}
}

func TestFixDialogCancel(t *testing.T) {
	applied := false
	cfg := testConfig(socketOutcome())
	cfg.Apply = func(context.Context, *checks.Outcome, fixes.Fix, fixes.Options) (fixes.Applied, error) {
		applied = true
		return fixes.Applied{}, nil
	}
	m := ready(t, cfg, socketOutcome(), 120, 36)
	for _, k := range []string{"n", "esc"} {
		press(m, "f")
		if cmd := press(m, k); cmd != nil {
			if _, ok := tryFind[appliedMsg](cmd); ok {
				t.Fatalf("%s applied the fix", k)
			}
		}
		if m.dialog != nil {
			t.Fatalf("%s did not close the dialog", k)
		}
		mustContain(t, screen(m), "fix cancelled: nothing was changed")
	}
	if applied {
		t.Fatal("Apply ran without a y")
	}
}

// twoCauses adds a timeout in step 4, with its own fix, after the socket
// (a cause of the vocabulary, with the fix title form the planner uses).
func twoCauses() (*checks.Outcome, func(*checks.Outcome) [][]fixes.Fix) {
	o := socketOutcome()
	o.Causes = append(o.Causes, checks.Cause{
		ID: "upstream-timeout", Target: "127.0.0.1:3000",
		Summary: "the backend at 127.0.0.1:3000 answers after proxy_read_timeout 5s",
	})
	plan := func(o *checks.Outcome) [][]fixes.Fix {
		p := socketPlan(o)[:1]
		return append(p, []fixes.Fix{{ID: "upstream-timeout:127.0.0.1:3000:timeout", Title: "Raise proxy_read_timeout to 30s"}})
	}
	return o, plan
}

// f opens the fix of the step the user is looking at, from either pane,
// and the verdict's hint and the detail's [f] say which one that is.
func TestFixFollowsTheSelectedStep(t *testing.T) {
	o, plan := twoCauses()
	cfg := testConfig(o)
	cfg.Plan = plan
	for _, keys := range [][]string{{"p", "p"}, {"p", "p", "enter"}} {
		m := ready(t, cfg, o, 120, 36)
		s := screen(m) + ansi.Strip(m.detail.GetContent()) // step 6 is selected: the socket
		mustContain(t, s, "f fix: Let www-data connect", "[f] Let www-data connect")
		press(m, keys...) // step 4: the timeout
		s = screen(m) + ansi.Strip(m.detail.GetContent())
		mustContain(t, s, "f fix: Raise proxy_read_timeout", "[f] Raise proxy_read_timeout")
		mustNotContain(t, s, "f fix: Let www-data connect")
		press(m, "f")
		if m.dialog == nil || m.dialog.cause.ID != "upstream-timeout" {
			t.Fatalf("%v then f: got dialog %+v, want the timeout's", keys, m.dialog)
		}
		press(m, "esc", "esc", "p") // step 3 has no cause: f falls back to the most likely one
		mustContain(t, screen(m), "f fix: Let www-data connect")
		press(m, "f")
		if m.dialog == nil || m.dialog.cause.ID != "socket-permission" {
			t.Fatalf("f on a step without a cause: got dialog %+v, want the most likely cause's", m.dialog)
		}
	}
}

// A second fixable cause in the same step is reached with tab, and f
// then fixes it: no "quit and run ngxdoctor fix ID".
func TestSecondCauseInAStepIsWalkedAndFixed(t *testing.T) {
	o, plan := twoCauses()
	o.Causes[1].ID = "socket-missing" // step 6 too
	cfg := testConfig(o)
	cfg.Plan = plan
	m := ready(t, cfg, o, 120, 36)
	s := ansi.Strip(m.detail.GetContent())
	mustContain(t, s, "[f] Let www-data connect", "tab selects this cause; then f previews its fix")
	mustNotContain(t, s, "[f] Raise", "ngxdoctor fix")
	press(m, "tab")
	s = ansi.Strip(m.detail.GetContent())
	mustContain(t, s, "[f] Raise proxy_read_timeout", "▸ Cause: socket-missing")
	mustContain(t, screen(m), "cause 2 of 2")
	press(m, "f")
	if m.dialog == nil || m.dialog.cause.ID != "socket-missing" {
		t.Fatalf("tab then f: got dialog %+v, want the second cause's", m.dialog)
	}
}

func TestReadOnly(t *testing.T) {
	cfg := testConfig(socketOutcome())
	cfg.ReadOnly = true
	m := ready(t, cfg, socketOutcome(), 120, 36)
	s := screen(m) + ansi.Strip(m.detail.GetContent())
	mustNotContain(t, s, "f fix:")
	mustContain(t, s, "Fixes (read-only: f previews, nothing is applied):", "read-only: f previews Let www-data connect")
	// Every preview is shown: the argv and the diff a change request needs.
	press(m, "f")
	if m.dialog == nil {
		t.Fatal("read-only opened no preview")
	}
	mustContain(t, screen(m), "$ chown root:www-data /run/php/php8.2-fpm.sock")
	mustNotContain(t, screen(m), "y apply")
	if cmd := press(m, "y"); cmd != nil {
		if _, ok := tryFind[appliedMsg](cmd); ok {
			t.Fatal("y applied a fix in read-only mode")
		}
	}
	mustContain(t, screen(m), "read-only: nothing is applied")
	press(m, "tab")
	mustContain(t, screen(m), "-listen.mode = 0600")
}

func TestDemoBadge(t *testing.T) {
	cfg := testConfig(socketOutcome())
	cfg.Demo = true
	for _, w := range []int{80, 120} {
		m := ready(t, cfg, socketOutcome(), w, 24)
		mustContain(t, screen(m), demoBadge)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(socketOutcome())
	cfg.ReportDir = dir
	m := ready(t, cfg, socketOutcome(), 80, 24)
	cmd := press(m, "e")
	msg := find[reportMsg](t, cmd)
	m.Update(msg)
	if msg.err != nil {
		t.Fatal(msg.err)
	}
	if filepath.Dir(msg.path) != dir || !strings.HasPrefix(filepath.Base(msg.path), "ngxdoctor-report-") {
		t.Fatalf("report at %s, want %s/ngxdoctor-report-*.md", msg.path, dir)
	}
	body, err := os.ReadFile(msg.path)
	if err != nil || string(body) != "# report\n" {
		t.Fatalf("report body %q (%v), want the Markdown", body, err)
	}
	mustContain(t, screen(m), "report written: "+dir)
}

// In the demo at 80 columns the badge leaves 35 columns; a report's path
// must still be read whole, so the status takes the line.
func TestDemoStatusBeatsBadge(t *testing.T) {
	cfg := testConfig(socketOutcome())
	cfg.Demo = true
	m := ready(t, cfg, socketOutcome(), 80, 24)
	path := "/home/someone/incidents/ngxdoctor-report-20261124-062000.md"
	m.Update(reportMsg{path: path})
	s := screen(m)
	mustContain(t, s, "report written: "+path)
	fits(t, s, 80, 24)
	m.Update(reportMsg{err: errors.New("x")})
	mustContain(t, screen(m), demoBadge)
}

func TestReportBeforeOutcome(t *testing.T) {
	m := New(testConfig(socketOutcome()))
	defer m.quit()
	if cmd := press(m, "e"); cmd != nil {
		t.Fatal("e before the outcome started a write")
	}
	mustContain(t, screen(m), "no report yet")
}

func TestLearnView(t *testing.T) {
	cfg := testConfig(socketOutcome())
	m := ready(t, cfg, socketOutcome(), 120, 36)
	learn := testSteps()[5].Learn[:40]
	mustNotContain(t, screen(m), learn)
	press(m, "l")
	s := ansi.Strip(m.detail.GetContent())
	mustContain(t, s, learn, "Commands to run by hand, for this machine:", "$ sudo -u www-data test -w",
		"look for: ", "To fix socket-permission by hand:")
	mustContain(t, screen(m), "· learn")
	press(m, "l")
	mustNotContain(t, screen(m), learn)

	cfg.Learn = true
	m = ready(t, cfg, socketOutcome(), 120, 36)
	mustContain(t, ansi.Strip(m.detail.GetContent()), learn)
}

func TestNoStepTextsWithoutSteps(t *testing.T) {
	cfg := testConfig(socketOutcome())
	cfg.Steps = nil
	m := ready(t, cfg, socketOutcome(), 120, 36)
	s := screen(m)
	mustNotContain(t, s, testSteps()[5].Why[:30])
	// Titles then come from the outcome.
	mustContain(t, s, "6 Socket permissions")
}

func TestResizeRelayouts(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
	mustContain(t, screen(m), "┃") // the focused steps box
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	s := screen(m)
	fits(t, s, 80, 24)
	mustContain(t, s, "── Step 6 of 10")
	m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	fits(t, screen(m), 140, 40)
}

func TestFullHelp(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
	press(m, "?")
	s := screen(m)
	mustContain(t, strings.Join(strings.Fields(s), " "), "prev step", "l learn", "q quit", "ctrl+l repaint", "ctrl+z suspend")
	fits(t, s, 120, 36)
}

func TestNoColour(t *testing.T) {
	colour := func(s string) bool {
		return strings.Contains(s, "\x1b[3") || strings.Contains(s, "\x1b[38;") ||
			strings.Contains(s, "\x1b[4") || strings.Contains(s, "\x1b[48;") || strings.Contains(s, ";38;")
	}
	t.Run("flag", func(t *testing.T) {
		t.Setenv("NO_COLOR", "")
		m := ready(t, testConfig(socketOutcome()), socketOutcome(), 120, 36)
		press(m, "f", "tab")
		if v := m.View().Content; colour(v) {
			t.Fatalf("--no-color frame has colour: %q", v)
		}
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv("NO_COLOR", "1")
		cfg := testConfig(socketOutcome())
		cfg.NoColor = false
		m := ready(t, cfg, socketOutcome(), 120, 36)
		if v := m.View().Content; colour(v) {
			t.Fatalf("NO_COLOR frame has colour: %q", v)
		}
	})
	t.Run("colour", func(t *testing.T) {
		t.Setenv("NO_COLOR", "")
		cfg := testConfig(socketOutcome())
		cfg.NoColor = false
		m := ready(t, cfg, socketOutcome(), 120, 36)
		if v := m.View().Content; !colour(v) {
			t.Fatal("a colour frame has no colour")
		}
		// A light terminal gets the light set, and the screen still says the same.
		before := screen(m)
		m.Update(tea.BackgroundColorMsg{Color: lightBg{}})
		if after := screen(m); after != before {
			t.Fatalf("text changed with the background:\n%s\n---\n%s", before, after)
		}
	})
}

// runAll runs a Cmd as the program would: every Cmd of a batch in its own
// goroutine; the messages are dropped.
func runAll(cmd tea.Cmd) {
	if b, ok := cmd().(tea.BatchMsg); ok {
		for _, c := range b {
			if c != nil {
				go runAll(c)
			}
		}
	}
}

type lightBg struct{}

func (lightBg) RGBA() (r, g, b, a uint32) { return 0xffff, 0xffff, 0xffff, 0xffff }

// TestUpdateNeverBlocks: the checks may take long; the screen answers at once.
func TestUpdateNeverBlocks(t *testing.T) {
	started := make(chan struct{})
	returned := make(chan struct{})
	cfg := testConfig(nil)
	cfg.Run = func(ctx context.Context, _ host.System, _ checks.Options, progress func(checks.Event)) (*checks.Outcome, error) {
		close(started)
		progress(checks.Event{Phase: "discovered"})
		defer close(returned)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(30 * time.Second):
			return nil, errors.New("not cancelled")
		}
	}
	m := New(cfg)
	init := m.Init()
	go runAll(init)
	select {
	case <-started:
	case <-time.After(2 * time.Second):
		t.Fatal("Init did not start the checks")
	}
	begin := time.Now()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	press(m, "j", "n", "enter", "esc", "l", "?", "f", "e")
	_ = m.View()
	if d := time.Since(begin); d > 200*time.Millisecond {
		t.Fatalf("Update took %s while the checks ran, want it at once", d)
	}
	mustContain(t, screen(m), "no report yet")

	cmd := press(m, "q")
	if cmd == nil {
		t.Fatal("q gave no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q did not quit")
	}
	select {
	case <-returned:
	case <-time.After(2 * time.Second):
		t.Fatal("quitting did not cancel the running checks")
	}
}

func TestCtrlCQuitsFromTheDialog(t *testing.T) {
	m := ready(t, testConfig(socketOutcome()), socketOutcome(), 80, 24)
	press(m, "f")
	cmd := press(m, "ctrl+c")
	if cmd == nil {
		t.Fatal("ctrl+c gave no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("ctrl+c did not quit")
	}
}

// q while a fix is applied cancels it and quits once the engine answers;
// a second q quits at once.
func TestQuitWhileApplyingWaitsForTheEngine(t *testing.T) {
	cfg := testConfig(socketOutcome())
	cfg.Apply = func(ctx context.Context, _ *checks.Outcome, f fixes.Fix, _ fixes.Options) (fixes.Applied, error) {
		<-ctx.Done() // the engine reverts on cancel
		return fixes.Applied{Fix: f, RolledBack: true}, ctx.Err()
	}
	m := ready(t, cfg, socketOutcome(), 80, 24)
	press(m, "f")
	applying := press(m, "y")
	if cmd := press(m, "q"); cmd != nil {
		t.Fatal("q while applying quit before the fix was rolled back")
	}
	mustContain(t, screen(m), "quitting once the fix stops safely")
	applied := find[appliedMsg](t, applying) // arrives only because q cancelled the fix
	if _, cmd := m.Update(applied); cmd == nil {
		t.Fatal("the rolled-back fix did not end the program")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("after the rollback the program did not quit")
	}

	m = ready(t, cfg, socketOutcome(), 80, 24)
	press(m, "f", "y", "q")
	if cmd := press(m, "q"); cmd == nil {
		t.Fatal("a second q did not quit")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("a second q did not quit")
	}
}

func TestCauseSteps(t *testing.T) {
	tests := map[string]int{
		"backend-down": 1, "wrong-address": 1, "config-invalid": 2, "no-resolver": 2, "dns-failure": 2,
		"firewall-blocked": 3, "selinux-denied": 3, "upstream-timeout": 4, "header-too-big": 4,
		"upstream-closed": 5, "upstream-reset": 5, "invalid-response": 5, "tls-handshake": 5,
		"nginx-not-running": 5, "socket-permission": 6, "socket-missing": 6, "no-live-upstreams": 7,
		"backend-overloaded": 7, "nginx-resources": 8, "made-up": 0,
	}
	for id, want := range tests {
		if got := causeStep(checks.CauseID(id)); got != want {
			t.Errorf("causeStep(%q) = %d, want %d", id, got, want)
		}
	}
}

func TestQuoteArgv(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"chmod", "0660", "/run/php/x.sock"}, "chmod 0660 /run/php/x.sock"},
		{[]string{"sh", "-c", "echo hi"}, "sh -c 'echo hi'"},
		{[]string{"printf", "it's", ""}, `printf 'it'\''s' ''`},
	}
	for _, tt := range tests {
		if got := quoteArgv(tt.argv); got != tt.want {
			t.Errorf("quoteArgv(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  []string
	}{
		{"short  stays   aligned", 40, []string{"short  stays   aligned"}},
		{"chmod 0600 /run/php/php8.2-fpm.sock now", 30, []string{"chmod 0600", "/run/php/php8.2-fpm.sock now"}},
		{"a abcdefghij b", 5, []string{"a", "abcde", "fghij", "b"}},
		{"one\ntwo three", 5, []string{"one", "two", "three"}},
	}
	for _, tt := range tests {
		got := wrapWords(tt.in, tt.limit)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		for _, l := range got {
			if ansi.StringWidth(l) > tt.limit {
				t.Errorf("wrapWords(%q, %d): line %q is too wide", tt.in, tt.limit, l)
			}
		}
	}
}

// collect runs cmd as the program would and hands over its messages.
func collect(cmd tea.Cmd) <-chan tea.Msg {
	out := make(chan tea.Msg, 64)
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		msg := c()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil {
					go run(c)
				}
			}
			return
		}
		if msg != nil {
			out <- msg
		}
	}
	go run(cmd)
	return out
}

func next[T tea.Msg](t *testing.T, msgs <-chan tea.Msg) T {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case msg := <-msgs:
			if got, ok := msg.(T); ok {
				return got
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T within 3s", zero)
			return zero
		}
	}
}

func TestApplyShowsProgressLive(t *testing.T) {
	release := make(chan struct{})
	cfg := testConfig(socketOutcome())
	cfg.Apply = func(_ context.Context, _ *checks.Outcome, f fixes.Fix, opts fixes.Options) (fixes.Applied, error) {
		opts.Progress("chgrp www-data done")
		<-release
		return fixes.Applied{Fix: f, RolledBack: true, Log: []string{"verify: still 502", "restored mode 0600"}}, nil
	}
	m := ready(t, cfg, socketOutcome(), 120, 36)
	press(m, "f")
	msgs := collect(press(m, "y"))
	p := next[applyProgressMsg](t, msgs)
	_, wait := m.Update(p)
	s := screen(m)
	mustContain(t, s, "chgrp www-data done", "applying…")
	close(release)
	applied := find[appliedMsg](t, wait)
	m.Update(applied)
	s = screen(m)
	mustContain(t, s, "rolled back, it did not help", "nothing stays changed", "restored mode 0600", "fix rolled back")
}

func TestDemoPreviewsButNeverApplies(t *testing.T) {
	cfg := testConfig(socketOutcome())
	cfg.Demo = true
	cfg.Apply = func(context.Context, *checks.Outcome, fixes.Fix, fixes.Options) (fixes.Applied, error) {
		t.Error("demo applied a fix")
		return fixes.Applied{}, nil
	}
	m := ready(t, cfg, socketOutcome(), 80, 24)
	press(m, "f")
	mustContain(t, screen(m), "$ chmod 0660 /run/php/php8.2-fpm.sock", "demo: y changes nothing")
	if cmd := press(m, "y"); cmd != nil {
		t.Fatal("y in the demo started a command")
	}
	mustContain(t, screen(m), "demo: nothing is changed")
}

func TestCheckingShowsPhase(t *testing.T) {
	m := New(testConfig(nil))
	defer m.quit()
	m.launch(false)
	m.Update(eventMsg{gen: m.gen, ev: checks.Event{Phase: "logs"}})
	mustContain(t, screen(m), "Checking: 0 of 10 steps done · logs read")
}

func TestTinyTerminalsDoNotPanic(t *testing.T) {
	for _, size := range [][2]int{{0, 0}, {1, 1}, {20, 5}, {40, 10}, {99, 24}, {100, 12}, {300, 100}} {
		m := ready(t, testConfig(socketOutcome()), socketOutcome(), size[0], size[1])
		_ = m.View()
		press(m, "f", "tab", "down")
		_ = m.View()
		press(m, "esc", "?", "enter", "l")
		if s := screen(m); size[1] > 0 && len(strings.Split(s, "\n")) > size[1] {
			t.Errorf("%dx%d: frame taller than the terminal", size[0], size[1])
		}
	}
}

func TestShortTerminalKeepsSelectionAndFooter(t *testing.T) {
	for _, size := range [][2]int{{80, 16}, {120, 14}} {
		m := ready(t, testConfig(socketOutcome()), socketOutcome(), size[0], size[1])
		s := screen(m)
		fits(t, s, size[0], size[1])
		mustContain(t, s, "› ✗  6 ", "q quit", "✗ nginx workers run as www-data")
		press(m, "p", "p", "p", "p", "p")
		mustContain(t, screen(m), "› ✓  1 ")
	}
}

func TestSaveReportNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, err := saveReport(dir, []byte("a"), now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := saveReport(dir, []byte("b"), now)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(a) != "ngxdoctor-report-20260102-030405.md" || filepath.Base(b) != "ngxdoctor-report-20260102-030405-2.md" {
		t.Fatalf("got %s and %s, want the second with -2", a, b)
	}
	if body, _ := os.ReadFile(a); string(body) != "a" {
		t.Fatalf("first report overwritten: %q", body)
	}
	if _, err := saveReport(filepath.Join(dir, "missing"), []byte("c"), now); err == nil {
		t.Fatal("a report into a missing directory succeeded")
	}
}

// TestQuitAlwaysInHelp: at 80 columns the help line keeps "q quit" in
// every focus and mode.
func TestQuitAlwaysInHelp(t *testing.T) {
	for _, mode := range []string{"normal", "read-only", "demo"} {
		cfg := testConfig(socketOutcome())
		cfg.ReadOnly = mode == "read-only"
		cfg.Demo = mode == "demo"
		m := ready(t, cfg, socketOutcome(), 80, 24)
		for _, keys := range [][]string{nil, {"enter"}, {"esc", "f"}} {
			press(m, keys...)
			lines := strings.Split(screen(m), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, "q quit") {
				t.Errorf("%s after %v: help line %q lacks q quit", mode, keys, last)
			}
		}
	}
}

// inOrder fails unless s holds each of wants, one after the other.
func inOrder(t *testing.T, s string, wants ...string) {
	t.Helper()
	at := 0
	for _, w := range wants {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Errorf("lacks %q (after the ones before it); got:\n%s", w, s)
			return
		}
		at += i + len(w)
	}
}
