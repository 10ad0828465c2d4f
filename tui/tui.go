// Package tui is the wizard: one Bubble Tea program that runs the ten
// steps live, shows the verdict and the evidence, and applies fixes after
// a confirmation. Every check, fix and file write runs in a tea.Cmd; Update
// only moves state.
package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// Config is what cmd/ngxdoctor hands the wizard.
type Config struct {
	Sys       host.System // the live host or a replayed recording (demo)
	Options   checks.Options
	ReadOnly  bool // --read-only and demo: no fix offered or applied
	Demo      bool // show that this is a recorded incident
	Learn     bool // start in the learn view
	NoColor   bool
	ReportDir string // where `e` writes the report; empty: the current directory, else os.TempDir()
	Version   string // "ngxdoctor 0.1.0", for the report
	// DemoAfter is the recording after the demo's fix (see DemoPlayer);
	// without it the demo's y changes nothing and plays nothing.
	DemoAfter host.System

	// Run, Plan, Apply and Markdown default to the real engine; tests inject fakes.
	Run      func(ctx context.Context, sys host.System, opts checks.Options, progress func(checks.Event)) (*checks.Outcome, error)
	Plan     func(o *checks.Outcome) [][]fixes.Fix
	Apply    func(ctx context.Context, o *checks.Outcome, f fixes.Fix, opts fixes.Options) (fixes.Applied, error)
	Markdown func(report.Input) []byte
	// Steps gives each step's Why and Learn texts and its needs; nil shows none.
	Steps func() []checks.Step
}

// stepCount is fixed by the method: ten steps, numbered 1 to 10.
const stepCount = 10

// state is where the diagnosis is.
type state int

const (
	stateDiscovering state = iota // looking for nginx and its config
	stateChecking                 // steps are running
	stateReady                    // an Outcome is shown
	stateFailed                   // Run could not diagnose at all
)

// focus is what receives the movement keys; the dialog gets keys first.
type focus int

const (
	focusSteps focus = iota
	focusDetail
	focusDialog
)

// Model is the root model of the wizard.
type Model struct {
	cfg    Config
	styles Styles
	keys   KeyMap
	help   help.Model

	base   context.Context // parent of every run and apply; cancelled on quit
	cancel context.CancelFunc
	// runCancel stops the checks in flight (a rerun or quit supersedes them).
	runCancel context.CancelFunc
	// gen numbers the runs so that a superseded run's messages are dropped.
	gen int

	state   state
	focus   focus
	phase   string
	steps   [stepCount]checks.StepResult
	outcome *checks.Outcome
	plans   [][]fixes.Fix
	err     error

	selected int // index into steps
	learn    bool
	spin     spinner.Model
	detail   viewport.Model
	dialog   *fixDialog

	status      string
	statusError bool
	// banner is the fix's outcome, shown in the verdict bar until the next key.
	banner []string
	// rerunAfterFix: the checks run again because of a fix; the status
	// says so until their outcome is in.
	rerunAfterFix bool

	// causeSel is the cause tab walks to and f fixes (index into Outcome.Causes).
	causeSel int
	// groups are the outcome's causes grouped by id, with their headlines.
	groups []report.Group

	filter    filterLine
	filtering bool // the filter line has the keys

	timeline   bool // the timeline replaces the detail
	session    report.Session
	discovered bool // the session has its discovered event

	// progress of the probes while they run.
	probesDone, probesTotal int
	probeDeadline           time.Time
	now                     time.Time
	cancelled               bool

	// cmds are the commands of the detail as built, for c to copy.
	cmds   []detailCmd
	cmdSel int // the command c copies; -1 when none is in view
	// causeLine is where each shown cause starts in the detail, for tab.
	causeLine map[int]int
	lossy     bool // the terminal has 16 colours or fewer
	dark      bool
	// quitting: q came while a fix was applied; the program ends when the
	// engine has rolled it back.
	quitting bool

	width, height int
}

// New builds the root model; nothing runs until Init.
func New(cfg Config) *Model { return newModel(context.Background(), cfg) }

// newModel builds the model under ctx: quitting cancels ctx's child, and
// ctx ending stops every run and fix.
func newModel(ctx context.Context, cfg Config) *Model {
	if cfg.Run == nil {
		cfg.Run = checks.Run
	}
	if cfg.Plan == nil {
		cfg.Plan = fixes.Plan
	}
	if cfg.Apply == nil {
		cfg.Apply = fixes.Apply
	}
	if cfg.Markdown == nil {
		cfg.Markdown = report.Markdown
	}
	if os.Getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	m := &Model{
		cfg:    cfg,
		keys:   DefaultKeyMap(),
		help:   help.New(),
		learn:  cfg.Learn,
		dark:   true,
		spin:   spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		detail: viewport.New(),
		// A size until the terminal tells us its own, so View is never empty.
		width:  80,
		height: 24,
	}
	m.session = report.Session{Demo: cfg.Demo, Tool: cfg.Version, Started: time.Now()}
	m.base, m.cancel = context.WithCancel(ctx)
	m.setStyles(PlainStyles())
	if !cfg.NoColor {
		m.setStyles(NewStyles(true, false))
	}
	for i := range m.steps {
		m.steps[i] = checks.StepResult{Number: i + 1, Title: m.stepTitle(i + 1), Status: checks.Running}
	}
	m.keys.readOnly = cfg.ReadOnly
	m.syncKeys()
	m.relayout()
	return m
}

// Run runs the wizard until the user quits (or ctx ends).
func Run(ctx context.Context, cfg Config) error {
	m := newModel(ctx, cfg)
	defer m.cancel()
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if m.cfg.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (m *Model) setStyles(s Styles) {
	m.styles = s
	m.help.Styles = s.Help
	m.spin.Style = s.Spinner
}

// Init starts the checks and asks the terminal for its background.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.startRun(), m.spin.Tick}
	if !m.cfg.NoColor {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

// busy reports whether something runs that the spinner stands for.
func (m *Model) busy() bool {
	return m.state == stateDiscovering || m.state == stateChecking ||
		(m.dialog != nil && m.dialog.applying)
}

// Update moves state in answer to one message; anything slow is a Cmd.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	// The verdict's height depends on the state, so every change re-lays
	// out; a spinner frame changes no size.
	if _, tick := msg.(spinner.TickMsg); !tick {
		m.relayout()
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return nil

	case tea.BackgroundColorMsg:
		if !m.cfg.NoColor {
			m.dark = msg.IsDark()
			m.setStyles(NewStyles(m.dark, m.lossy))
			m.refreshDetail(false)
		}
		return nil

	case tea.ColorProfileMsg:
		// On 16 colours a background tint may vanish: the selection is
		// then shown in reverse video, which every terminal has.
		m.lossy = msg.Profile <= colorprofile.ANSI
		if !m.cfg.NoColor {
			m.setStyles(NewStyles(m.dark, m.lossy))
			m.refreshDetail(false)
		}
		return nil

	case tea.ResumeMsg:
		return tea.ClearScreen

	case clipboardMsg:
		m.setStatus("copied: "+msg.text, false)
		return tea.SetClipboard(msg.text)

	case spinner.TickMsg:
		// Once nothing runs the spinner stops ticking: an idle screen is still.
		if !m.busy() {
			return nil
		}
		m.now = time.Now()
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd

	case eventMsg:
		if msg.gen != m.gen {
			return nil
		}
		m.onEvent(msg.ev)
		if msg.ch == nil {
			return nil
		}
		return waitForEvent(msg.ctx, msg.gen, msg.ch)

	case outcomeMsg:
		if msg.gen != m.gen {
			return nil
		}
		m.onOutcome(msg)
		return nil

	case applyProgressMsg:
		if m.dialog != nil && m.dialog.applying {
			m.dialog.progress = append(m.dialog.progress, msg.line)
			m.refreshDialog()
		}
		return waitForApply(msg.ch)

	case appliedMsg:
		return m.onApplied(msg)

	case reportMsg:
		if msg.err != nil {
			m.setStatus("report not written: "+msg.err.Error(), true)
		} else {
			m.setStatus("report written: "+msg.path, false)
			m.session.Add(msg.at, "report", msg.path)
		}
		return nil

	case tea.KeyPressMsg:
		// The fix's outcome stays in view until the next key.
		m.banner = nil
		return m.onKey(msg)

	case tea.PasteMsg:
		if m.filtering {
			m.filter.value += strings.ReplaceAll(msg.Content, "\n", " ")
			m.applyFilter()
		}
	}
	return nil
}

func (m *Model) setStatus(s string, isErr bool) {
	m.status, m.statusError = s, isErr
}

// onEvent shows a step's result as soon as it is known.
func (m *Model) onEvent(ev checks.Event) {
	if m.state == stateDiscovering && ev.Phase != "" {
		m.state = stateChecking
	}
	if ev.Phase == "probe" {
		m.probesDone, m.probesTotal, m.probeDeadline = ev.Done, ev.Total, ev.Deadline
		m.now = time.Now()
		if m.steps[m.selected].Status == checks.Running {
			m.refreshDetail(false) // it may say how many probes it waits for
		}
		return
	}
	m.phase = ev.Phase
	if ev.Phase == "step" && ev.Step != nil {
		if i := ev.Step.Number - 1; i >= 0 && i < stepCount {
			m.steps[i] = *ev.Step
			if m.steps[i].Title == "" {
				m.steps[i].Title = m.stepTitle(i + 1)
			}
			if i == m.selected {
				m.refreshDetail(false)
			}
		}
	}
}

func (m *Model) onOutcome(msg outcomeMsg) {
	m.runCancel = nil
	m.phase = ""
	m.probesDone, m.probesTotal = 0, 0
	afterFix := m.rerunAfterFix
	m.rerunAfterFix = false
	if msg.err != nil {
		m.state, m.err = stateFailed, msg.err
		m.outcome, m.plans = nil, nil
		for i := range m.steps {
			if m.steps[i].Status == checks.Running {
				m.steps[i].Status = ""
			}
		}
		if afterFix {
			m.setStatus("the checks after the fix could not diagnose: "+msg.err.Error(), true)
			if a, ok := m.lastAction(); ok && m.banner != nil {
				m.banner = outcomeLines(a, false)
			}
		}
		m.refreshDetail(true)
		return
	}
	m.state, m.err = stateReady, nil
	m.outcome, m.plans = msg.outcome, msg.plans
	m.groups = report.Groups(msg.outcome)
	m.causeSel = 0
	m.recordVerdict(msg.outcome, afterFix)
	for _, sr := range msg.outcome.Steps {
		if i := sr.Number - 1; i >= 0 && i < stepCount {
			if sr.Title == "" {
				sr.Title = m.stepTitle(sr.Number)
			}
			m.steps[i] = sr
		}
	}
	for i := range m.steps {
		if m.steps[i].Status == checks.Running {
			m.steps[i].Status = ""
		}
	}
	if afterFix {
		m.setStatus("checks ran again after the fix: "+verdictWord(msg.outcome), false)
		// The outcome on top says the new verdict too, until the next key.
		if a, ok := m.lastAction(); ok && m.banner != nil {
			m.banner = outcomeLines(a, false)
		}
		m.refreshDialog()
	}
	if !msg.rerun {
		// The first verdict selects the step of the most likely cause:
		// that is where the user will look first.
		if len(msg.outcome.Causes) > 0 {
			if n := causeStep(msg.outcome.Causes[0].ID); n > 0 {
				m.selected = n - 1
			}
		}
	}
	m.syncKeys()
	m.refreshDetail(!msg.rerun)
}

// onKey routes a key: the filter line and the dialog first, then by
// focus, then the global keys.
func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
	if m.filtering {
		return m.filterKey(msg)
	}
	if key.Matches(msg, k.Quit) {
		// A fix cut off halfway is worse than a late exit: cancelled, the
		// engine rolls back or keeps a journaled change, and its answer
		// ends the program. A second q does not wait.
		if d := m.dialog; d != nil && d.applying && !m.quitting {
			m.quitting = true
			m.quit()
			m.setStatus("quitting once the fix stops safely (ngxdoctor undo reverts it); q quits now", true)
			return nil
		}
		m.quit()
		return tea.Quit
	}
	switch {
	case key.Matches(msg, k.Suspend):
		return tea.Suspend
	case key.Matches(msg, k.Repaint):
		return tea.ClearScreen
	}
	if m.focus == focusDialog && m.dialog != nil {
		d := m.dialog
		// The fix's result is read where it is, and every key of the main
		// screen works from it: the dialog closes and the key acts.
		if !d.done || isScrollKey(k, msg) || key.Matches(msg, k.Help) {
			return m.dialogKey(msg)
		}
		m.closeDialog()
		if key.Matches(msg, k.Cancel) || msg.String() == "enter" {
			return nil
		}
	}
	switch {
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.relayout()
	case key.Matches(msg, k.Up):
		if m.focus == focusDetail {
			m.detail.ScrollUp(1)
			m.refreshDetail(false)
		} else {
			m.selectStep(m.selected - 1)
		}
	case key.Matches(msg, k.Down):
		if m.focus == focusDetail {
			m.detail.ScrollDown(1)
			m.refreshDetail(false)
		} else {
			m.selectStep(m.selected + 1)
		}
	case key.Matches(msg, k.PageUp):
		m.detail.PageUp()
		m.refreshDetail(false)
	case key.Matches(msg, k.PageDown):
		m.detail.PageDown()
		m.refreshDetail(false)
	case key.Matches(msg, k.HalfUp):
		m.detail.HalfPageUp()
		m.refreshDetail(false)
	case key.Matches(msg, k.HalfDown):
		m.detail.HalfPageDown()
		m.refreshDetail(false)
	case key.Matches(msg, k.Top):
		if m.focus == focusDetail {
			m.detail.GotoTop()
			m.refreshDetail(false)
		} else {
			m.selectStep(0)
		}
	case key.Matches(msg, k.Bottom):
		if m.focus == focusDetail {
			m.detail.GotoBottom()
			m.refreshDetail(false)
		} else {
			m.selectStep(stepCount - 1)
		}
	case key.Matches(msg, k.Open):
		m.setFocus(focusDetail)
	case key.Matches(msg, k.Back):
		switch {
		case m.timeline:
			m.timeline = false
			m.refreshDetail(true)
		case m.filter.Value() != "":
			m.filter.SetValue("")
			m.applyFilter()
		default:
			m.setFocus(focusSteps)
		}
	case key.Matches(msg, k.Next):
		m.selectStep(m.selected + 1)
	case key.Matches(msg, k.Prev):
		m.selectStep(m.selected - 1)
	case key.Matches(msg, k.NextCause):
		m.walkCause(1)
	case key.Matches(msg, k.PrevCause):
		m.walkCause(-1)
	case key.Matches(msg, k.Learn):
		m.learn = !m.learn
		m.timeline = false
		m.refreshDetail(true)
	case key.Matches(msg, k.Timeline):
		m.timeline = !m.timeline
		m.refreshDetail(true)
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.syncKeys()
	case key.Matches(msg, k.Copy):
		return m.copyCommand()
	case key.Matches(msg, k.Switch):
		return m.switchMaster()
	case key.Matches(msg, k.Rerun):
		m.setStatus("", false)
		m.rerunAfterFix = false
		return m.rerun()
	case key.Matches(msg, k.Report):
		return m.writeReport()
	case key.Matches(msg, k.Fix):
		return m.openFix()
	}
	return nil
}

func isScrollKey(k *KeyMap, msg tea.KeyPressMsg) bool {
	for _, b := range []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom} {
		if key.Matches(msg, b) {
			return true
		}
	}
	return false
}

func (m *Model) setFocus(f focus) {
	m.focus = f
	m.syncKeys()
	m.relayout()
}

// syncKeys makes the key map (and so the help line) match what a key
// would do now.
func (m *Model) syncKeys() {
	d := m.dialog
	busy := d != nil && d.applying
	m.keys.forFocus(m.focus, busy)
	if d != nil {
		m.keys.OtherFix.SetEnabled(!busy && !d.done && len(d.fixes) > 1)
		m.keys.Confirm.SetEnabled(!busy && !d.done && !m.cfg.ReadOnly)
	}
	m.keys.Switch.SetEnabled(m.focus != focusDialog && len(m.masters()) > 1)
	m.keys.NextCause.SetEnabled(m.focus != focusDialog && m.outcome != nil && len(m.outcome.Causes) > 1)
	m.keys.PrevCause.SetEnabled(m.keys.NextCause.Enabled())
	if m.cfg.Demo {
		m.keys.Confirm.SetHelp("y", "play the recorded fix")
	}
}

func (m *Model) selectStep(i int) {
	i = max(0, min(stepCount-1, i))
	if i != m.selected {
		m.selected = i
		m.refreshDetail(true)
	}
}

// walkCause selects the next (or previous) cause in rank order and shows
// it: its step, its block scrolled into view, f ready to fix it.
func (m *Model) walkCause(d int) {
	if m.outcome == nil || len(m.outcome.Causes) == 0 {
		m.setStatus("no cause to walk", false)
		return
	}
	n := len(m.outcome.Causes)
	m.causeSel = ((m.causeSel+d)%n + n) % n
	c := m.outcome.Causes[m.causeSel]
	if st := causeStep(c.ID); st > 0 {
		m.selected = st - 1
	}
	m.timeline = false
	m.refreshDetail(true)
	if line, ok := m.causeLine[m.causeSel]; ok {
		m.detail.SetYOffset(line)
		m.refreshDetail(false)
	}
	m.setStatus(fmt.Sprintf("cause %d of %d: %s %s", m.causeSel+1, n, c.ID, c.Target), false)
}

func (m *Model) quit() {
	if m.runCancel != nil {
		m.runCancel()
	}
	m.cancel()
}

// rerun supersedes the checks in flight with a fresh run.
func (m *Model) rerun() tea.Cmd {
	if m.dialog != nil && m.dialog.applying {
		return nil
	}
	if m.state == stateChecking || m.state == stateDiscovering {
		m.cancelled = true
	}
	m.state = stateDiscovering
	m.phase = ""
	for i := range m.steps {
		m.steps[i].Status = checks.Running
	}
	m.refreshDetail(false)
	return tea.Batch(m.startRunAgain(), m.spin.Tick)
}

// openFix opens the confirm dialog for the cause fixTarget names. In
// read-only mode it opens too: the preview is what a change request
// needs; only y is off.
func (m *Model) openFix() tea.Cmd {
	if m.state == stateFailed {
		m.setStatus("nothing to fix: the diagnosis failed (r runs it again)", false)
		return nil
	}
	if m.state != stateReady || m.outcome == nil {
		m.setStatus("no fix yet: the checks are still running", false)
		return nil
	}
	if len(m.outcome.Causes) == 0 {
		m.setStatus("nothing to fix: no cause found", false)
		return nil
	}
	ci := m.fixTarget()
	if ci < 0 {
		c := m.outcome.Causes[m.causeSel]
		m.setStatus("no automatic fix for "+string(c.ID)+"; l shows how to fix it by hand", false)
		return nil
	}
	m.dialog = &fixDialog{cause: m.outcome.Causes[ci], fixes: m.fixesOf(ci), view: viewport.New()}
	m.setStatus("", false)
	m.session.Add(time.Now(), "preview", m.dialog.fixes[0].Title)
	m.setFocus(focusDialog)
	m.refreshDialog()
	return nil
}

func (m *Model) dialogKey(msg tea.KeyPressMsg) tea.Cmd {
	d, k := m.dialog, &m.keys
	switch {
	case key.Matches(msg, k.Up):
		d.view.ScrollUp(1)
	case key.Matches(msg, k.Down):
		d.view.ScrollDown(1)
	case key.Matches(msg, k.PageUp):
		d.view.PageUp()
	case key.Matches(msg, k.PageDown):
		d.view.PageDown()
	case key.Matches(msg, k.HalfUp):
		d.view.HalfPageUp()
	case key.Matches(msg, k.HalfDown):
		d.view.HalfPageDown()
	case key.Matches(msg, k.Top):
		d.view.GotoTop()
	case key.Matches(msg, k.Bottom):
		d.view.GotoBottom()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.relayout()
	case d.applying:
		// While a fix is applied nothing else may start; q still quits.
	case d.done:
	case key.Matches(msg, k.OtherFix):
		d.idx = (d.idx + 1) % len(d.fixes)
		m.refreshDialog()
		d.view.GotoTop()
	case key.Matches(msg, k.Cancel):
		m.closeDialog()
		m.setStatus("fix cancelled: nothing was changed", false)
	case msg.String() == "y" && m.cfg.ReadOnly:
		m.setStatus("read-only: nothing is applied; the plan above is what ngxdoctor fix would do", false)
	case key.Matches(msg, k.Confirm):
		return m.applyFix()
	}
	return nil
}

func (m *Model) closeDialog() {
	m.dialog = nil
	m.setFocus(focusSteps)
}

// applyFix runs the chosen fix in a Cmd. The engine's progress lines and
// then its result come back through one channel, in order.
func (m *Model) applyFix() tea.Cmd {
	d := m.dialog
	if m.cfg.Demo && m.cfg.DemoAfter == nil {
		// A recorded incident has no machine behind it to change.
		m.setStatus("demo: nothing is changed; on a real host y applies this fix", false)
		return nil
	}
	d.applying = true
	d.progress = nil
	m.syncKeys()
	m.refreshDialog()
	f, o, apply, ctx := d.fixes[d.idx], m.outcome, m.cfg.Apply, m.base
	ch := make(chan tea.Msg, 64)
	start := func() tea.Msg {
		progress := func(line string) {
			select {
			case ch <- applyProgressMsg{line: line, ch: ch}:
			case <-ctx.Done():
			}
		}
		a, err := apply(ctx, o, f, fixes.Options{Progress: progress})
		// Sent even after a quit: the quitting model waits for it. The
		// progress lines that can fill the buffer stop with ctx.
		ch <- appliedMsg{applied: a, err: err, at: time.Now()}
		return nil
	}
	return tea.Batch(m.spin.Tick, start, waitForApply(ch))
}

func waitForApply(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg { return <-ch }
}

// onApplied shows what the fix did where the eye is (the verdict bar and
// the status, until the next key) and runs the checks again, so that the
// screen says whether the 502 is gone.
func (m *Model) onApplied(msg appliedMsg) tea.Cmd {
	if m.quitting {
		return tea.Quit
	}
	if m.dialog == nil {
		return nil
	}
	d := m.dialog
	d.applying, d.done = false, true
	d.applied, d.err = msg.applied, msg.err
	if d.applied.Fix.ID == "" {
		d.applied.Fix = d.fixes[d.idx]
	}
	a := report.Action{At: msg.at, Cause: d.cause, Fix: d.fixes[d.idx], Applied: msg.applied}
	if msg.err != nil {
		a.Err = msg.err.Error()
	}
	m.session.Actions = append(m.session.Actions, a)
	m.recordApplied(a)
	m.banner = outcomeLines(a, true)
	m.syncKeys()
	switch {
	case msg.err != nil:
		m.setStatus("fix failed: "+msg.err.Error()+"; running the checks again", true)
	case msg.applied.RolledBack:
		m.setStatus("fix rolled back: it did not help; nothing stays changed; running the checks again", true)
	default:
		m.setStatus("fix applied; running the checks again", false)
		if msg.applied.Verified {
			m.cfg.Options.NotBefore = msg.at
		}
		// The rerun asks again the requests that failed before the fix,
		// whatever the log window holds after it.
		m.cfg.Options.Again = nil
		if m.outcome != nil && m.outcome.Snapshot != nil {
			for _, r := range m.outcome.Snapshot.Replays {
				if r.Unanswered() {
					m.cfg.Options.Again = append(m.cfg.Options.Again, r)
				}
			}
		}
		if m.cfg.Demo && m.cfg.DemoAfter != nil {
			m.cfg.Sys = m.cfg.DemoAfter
		}
	}
	m.refreshDialog()
	m.rerunAfterFix = true
	return m.rerun()
}
