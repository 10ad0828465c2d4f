package tui

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// TestGolden runs the real program (teatest) on fixed outcomes and keeps
// the final frame, as text, in testdata/TestGolden/*.golden. Regenerate
// with `go test ./tui -update`. The frame is taken from the final model
// rather than the byte stream: the stream depends on how the renderer
// happened to batch frames, the last frame does not.
// maskTimes hides the one thing a replay measures afresh each time: how
// long a recorded peer took to answer ("fastcgi 200 in 51ms").
func maskTimes(s string) string { return msRE.ReplaceAllString(s, "${1}NNms") }

var msRE = regexp.MustCompile(`(in )\d+(\.\d+)?ms`)

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
				case <-time.After(5 * time.Second):
					t.Fatal("no outcome within 5s")
				}
				if tt.keys != "" {
					tm.Type(tt.keys)
				}
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
				frame := ansi.Strip(m.View().Content)
				fits(t, frame, w, h)
				golden.RequireEqual(t, maskTimes(frame))
			})
		}
	}
}
