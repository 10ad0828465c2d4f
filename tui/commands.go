package tui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// runItem is what the run goroutine hands the UI, in order: events, then
// exactly one outcome. One channel keeps that order, so a late step event
// can never land after the final outcome.
type runItem struct {
	ev      *checks.Event
	outcome outcomeMsg
}

type eventMsg struct {
	gen int
	ctx context.Context
	ch  <-chan runItem
	ev  checks.Event
}

type outcomeMsg struct {
	gen     int
	rerun   bool
	outcome *checks.Outcome
	plans   [][]fixes.Fix
	err     error
}

type appliedMsg struct {
	applied fixes.Applied
	err     error
	// at is when the fix was in place: the rerun's log window starts there,
	// so lines from before the fix are not taken for a failure now.
	at time.Time
}

// applyProgressMsg is one line of the fixes engine's progress.
type applyProgressMsg struct {
	line string
	ch   <-chan tea.Msg
}

type reportMsg struct {
	path string
	err  error
	at   time.Time
}

func (m *Model) startRun() tea.Cmd      { return m.launch(false) }
func (m *Model) startRunAgain() tea.Cmd { return m.launch(true) }

// launch starts a run of the checks and returns the Cmds that start it and
// read its first item.
func (m *Model) launch(rerun bool) tea.Cmd {
	if m.runCancel != nil {
		m.runCancel()
	}
	m.gen++
	ctx, cancel := context.WithCancel(m.base)
	m.runCancel = cancel
	// Buffered so that the checks rarely wait on the screen; a send also
	// gives up when the run is cancelled, so nothing leaks after quit.
	ch := make(chan runItem, 64)
	gen, cfg := m.gen, m.cfg
	start := func() tea.Msg {
		progress := func(ev checks.Event) {
			if ev.Phase == "probe" {
				// Counts only: a later one says more, so a full buffer
				// drops it rather than hold up a probe.
				select {
				case ch <- runItem{ev: &ev}:
				default:
				}
				return
			}
			select {
			case ch <- runItem{ev: &ev}:
			case <-ctx.Done():
			}
		}
		o, err := cfg.Run(ctx, cfg.Sys, cfg.Options, progress)
		out := outcomeMsg{gen: gen, rerun: rerun, outcome: o, err: err}
		if err == nil && o == nil {
			out.err = fmt.Errorf("the checks returned no outcome")
		}
		// Planning may read files (a diff needs the config), so it runs
		// here too; read-only plans as well, to preview them.
		if out.err == nil && cfg.Plan != nil {
			out.plans = cfg.Plan(o)
		}
		select {
		case ch <- runItem{outcome: out}:
		case <-ctx.Done():
		}
		return nil
	}
	return tea.Batch(start, waitForEvent(ctx, gen, ch))
}

// waitForEvent reads the next item of a run; Update re-arms it after each
// event. A cancelled run may never send its outcome, so the reader gives
// up with it rather than wait forever.
func waitForEvent(ctx context.Context, gen int, ch <-chan runItem) tea.Cmd {
	return func() tea.Msg {
		select {
		case it := <-ch:
			if it.ev != nil {
				return eventMsg{gen: gen, ctx: ctx, ch: ch, ev: *it.ev}
			}
			return it.outcome
		case <-ctx.Done():
			return nil
		}
	}
}

// writeReport writes the Markdown report in a Cmd and says where.
func (m *Model) writeReport() tea.Cmd {
	if m.state == stateFailed {
		m.setStatus("no report: the diagnosis failed (r runs it again)", false)
		return nil
	}
	if m.outcome == nil {
		m.setStatus("no report yet: the checks have not finished", false)
		return nil
	}
	// The session is copied: the Cmd must not read what Update changes.
	ses := m.session
	ses.Actions = append([]report.Action(nil), ses.Actions...)
	ses.Events = append([]report.Event(nil), ses.Events...)
	in := report.Input{Outcome: m.outcome, Fixes: m.plans, ReadOnly: m.cfg.ReadOnly, Session: &ses}
	dir, md := m.cfg.ReportDir, m.cfg.Markdown
	m.setStatus("writing the report…", false)
	return func() tea.Msg {
		now := time.Now()
		path, err := saveReport(dir, md(in), now)
		return reportMsg{path: path, err: err, at: now}
	}
}

// saveReport writes into dir, or when none was given into the current
// directory and, if that is not writable (often / over sudo), the temp dir.
func saveReport(dir string, body []byte, now time.Time) (string, error) {
	base := "ngxdoctor-report-" + now.Format("20060102-150405")
	dirs := []string{dir}
	if dir == "" {
		dirs = []string{".", os.TempDir()}
	}
	var err error
	for _, d := range dirs {
		var p string
		if p, err = createReport(d, base, body); err == nil {
			if abs, aerr := filepath.Abs(p); aerr == nil {
				p = abs
			}
			return p, nil
		}
	}
	return "", err
}

// createReport never overwrites: a second report within the same second
// gets a suffix.
func createReport(dir, base string, body []byte) (string, error) {
	for i := 1; ; i++ {
		name := base + ".md"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.md", base, i)
		}
		p := filepath.Join(dir, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return "", err
		}
		return p, nil
	}
}
