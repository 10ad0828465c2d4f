package tui

import (
	"bytes"
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
func TestGolden(t *testing.T) {
	tests := []struct {
		name    string
		outcome *checks.Outcome
		// waitFor is a piece of the ready frame; keys are pressed after it.
		waitFor string
		keys    string
		// thenWait is a piece of the frame after the keys.
		thenWait string
	}{
		{"socket-permission", socketOutcome(), "fix: Let", "", ""},
		{"fix-dialog", socketOutcome(), "fix: Let", "f", "without a shell"},
		{"healthy", healthyOutcome(), "healthy", "", ""},
	}
	for _, tt := range tests {
		for _, size := range [][2]int{{80, 24}, {120, 36}} {
			w, h := size[0], size[1]
			t.Run(tt.name+"-"+itoa(w)+"x"+itoa(h), func(t *testing.T) {
				tm := teatest.NewTestModel(t, New(testConfig(tt.outcome)),
					teatest.WithInitialTermSize(w, h),
					teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
				wait := func(s string) {
					teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
						return bytes.Contains(b, []byte(s))
					}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
				}
				wait(tt.waitFor)
				if tt.keys != "" {
					tm.Type(tt.keys)
					wait(tt.thenWait)
				}
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
				frame := ansi.Strip(m.View().Content)
				fits(t, frame, w, h)
				golden.RequireEqual(t, frame)
			})
		}
	}
}
