package tui

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// maskTimes hides the one thing a replay measures afresh each time: how
// long a recorded peer took to answer ("fastcgi 200 in 51ms", "first byte after 51ms").
// The number's width moves what follows it, so the padding before a box's
// right border is collapsed too.
func maskTimes(s string) string {
	s = msRE.ReplaceAllString(s, "NNms")
	s = padRE.ReplaceAllString(s, " $1")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

var (
	msRE  = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs)\b`)
	padRE = regexp.MustCompile(` +([│┃])`)
)

// maskClock hides the wall-clock times a session records (a fix, a rerun).
func maskClock(s string) string {
	s = clockRE.ReplaceAllString(s, "HH:MM:SS")
	return dateRE.ReplaceAllString(s, "YYYY-MM-DDTHH:MM:SSZ")
}

var (
	clockRE = regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`)
	dateRE  = regexp.MustCompile(`\d{4}-\d\d-\d\dTHH:MM:SS(\.\d+)?Z`)
)

// afterFix is the wizard after f, y and the rerun: the recorded apply,
// then the checks on the recording after the fix.
func afterFix(t *testing.T, cfg Config, w, h int) *Model {
	t.Helper()
	cfg.Run = fakeRun(healthyOutcome(), nil)
	m := ready(t, cfg, socketOutcome(), w, h)
	m.session.Started = demoRecording().Now // the session's start, as the recording's clock has it
	press(m, "f")
	_, rerun := m.Update(find[appliedMsg](t, press(m, "y")))
	finishRun(t, m, rerun)
	return m
}

// TestGoldenTimeline: t after a fix shows the session from start to now.
func TestGoldenTimeline(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 36}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := afterFix(t, testConfig(nil), size[0], size[1])
			press(m, "esc", "t")
			frame := screen(m)
			fits(t, frame, size[0], size[1])
			mustContain(t, ansi.Strip(m.detail.GetContent()), "discovered", "verdict", "preview", "applied", "verified", "undo", "rerun")
			golden.RequireEqual(t, maskClock(maskTimes(frame)))
		})
	}
}

// TestGoldenFixOutcome: after y and the checks run again, the top of the
// screen and the dialog say what was applied, what it changed, the failing
// request asked again with its answer now, the new verdict and the undo.
func TestGoldenFixOutcome(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 36}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := afterFix(t, testConfig(nil), size[0], size[1])
			frame := screen(m)
			fits(t, frame, size[0], size[1])
			top := strings.Join(strings.Split(frame, "\n")[:9], "\n")
			inOrder(t, top, "✓ applied and verified", "changed: ran chown root:www-data", "verified: GET /index.php on shop.example.com: 502 → 200",
				"now: No cause found", "undo: ngxdoctor undo 20261124-060135-socket-permission")
			golden.RequireEqual(t, maskClock(maskTimes(frame)))
		})
	}
}

// TestGoldenReportAfterFix: e after a fix writes the incident: before
// (cause, evidence, the failing request), the action (fix, argv, journal
// id, undo), after (verification, the new verdict), host and times.
func TestGoldenReportAfterFix(t *testing.T) {
	cfg := testConfig(nil)
	cfg.Markdown = report.Markdown
	cfg.ReportDir = t.TempDir()
	cfg.Version = "ngxdoctor test"
	m := afterFix(t, cfg, 80, 24)
	msg := find[reportMsg](t, press(m, "e"))
	if msg.err != nil {
		t.Fatal(msg.err)
	}
	body, err := os.ReadFile(msg.path)
	if err != nil {
		t.Fatal(err)
	}
	md := string(body)
	for _, want := range []string{
		"# nginx incident report", "## Before", "socket-permission", "(13: Permission denied)",
		"GET http://127.0.0.1:80/index.php Host: shop.example.com → 502",
		"## Actions", "chown root:www-data /run/php/php8.2-fpm.sock", "ngxdoctor undo 20261124-060135-socket-permission",
		"## After", "through nginx answers 200", "**OK.**", "## Timeline", "## Host and versions", "shop-web-1", "ngxdoctor test",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	golden.RequireEqual(t, maskClock(maskTimes(md)))
}

// TestGoldenDemoReport: the demo's report says it is one.
func TestGoldenDemoReport(t *testing.T) {
	cfg := testConfig(nil)
	cfg.Markdown = report.Markdown
	cfg.ReportDir = t.TempDir()
	cfg.Demo = true
	m := ready(t, cfg, socketOutcome(), 80, 24)
	msg := find[reportMsg](t, press(m, "e"))
	body, err := os.ReadFile(msg.path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), report.DemoNote) {
		t.Fatalf("the demo's report does not say it is a demo:\n%s", body)
	}
}

// TestGolden runs the real program (teatest) on fixed outcomes and keeps
// the final frame, as text, in testdata/TestGolden/*.golden. Regenerate
// with `go test ./tui -update`. The frame is taken from the final model
// rather than the byte stream: the stream depends on how the renderer
// happened to batch frames, the last frame does not.
func TestGolden(t *testing.T) {
	tests := []struct {
		name    string
		outcome *checks.Outcome
		// keys are pressed once the outcome is in.
		keys   string
		config func(*Config)
	}{
		{"socket-permission", socketOutcome(), "", nil},
		{"fix-dialog", socketOutcome(), "f", nil},
		{"healthy", healthyOutcome(), "", nil},
		{"learn", socketOutcome(), "", func(c *Config) { c.Learn = true }},
		{"read-only", socketOutcome(), "", func(c *Config) { c.ReadOnly = true }},
		// 200 servers in 60 upstreams, 180 down: step 1 groups them.
		{"grouped-200", manyOutcome(), "g", nil},
		{"filter-200", manyOutcome(), "/20137\n", nil},
	}
	for _, tt := range tests {
		for _, size := range [][2]int{{80, 24}, {120, 36}} {
			w, h := size[0], size[1]
			t.Run(fmt.Sprintf("%s-%dx%d", tt.name, w, h), func(t *testing.T) {
				cfg := testConfig(tt.outcome)
				if tt.config != nil {
					tt.config(&cfg)
				}
				// The filter sees each message just before Update does; keys
				// sent after the outcome is seen queue behind it.
				outcome := make(chan struct{})
				var once sync.Once
				filter := func(_ tea.Model, msg tea.Msg) tea.Msg {
					if _, ok := msg.(outcomeMsg); ok {
						once.Do(func() { close(outcome) })
					}
					return msg
				}
				tm := teatest.NewTestModel(t, New(cfg),
					teatest.WithInitialTermSize(w, h),
					teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(filter)))
				select {
				case <-outcome:
				case <-time.After(30 * time.Second): // -race on a loaded machine is slow
					t.Fatal("no outcome within 30s")
				}
				// A trailing newline in keys is the enter key.
				if keys, enter := strings.CutSuffix(tt.keys, "\n"); keys != "" {
					tm.Type(keys)
					if enter {
						tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
					}
				}
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				m := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*Model)
				frame := ansi.Strip(m.View().Content)
				fits(t, frame, w, h)
				golden.RequireEqual(t, maskTimes(frame))
			})
		}
	}
}
