// Package tui is the wizard: one Bubble Tea program that runs the ten
// steps live, shows the verdict and the evidence, and applies fixes after
// a confirmation. Every check, fix and file write runs in a tea.Cmd; Update
// only moves state.
package tui

import (
	"context"
	"errors"
	"os"
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

	// Run, Plan, Apply and Markdown default to the real engine; tests inject fakes.
	Run      func(ctx context.Context, sys host.System, opts checks.Options, progress func(checks.Event)) (*checks.Outcome, error)
	Plan     func(o *checks.Outcome) [][]fixes.Fix
	Apply    func(ctx context.Context, o *checks.Outcome, f fixes.Fix, opts fixes.Options) (fixes.Applied, error)
	Markdown func(report.Input) []byte
	// Steps gives each step's Why and Learn texts; nil shows none.
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
		spin:   spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		detail: viewport.New(),
		// A size until the terminal tells us its own, so View is never empty.
		width:  80,
		height: 24,
	}
	m.base, m.cancel = context.WithCancel(ctx)
	m.setStyles(PlainStyles())
	if !cfg.NoColor {
		m.setStyles(NewStyles(true))
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
			m.setStyles(NewStyles(msg.IsDark()))
			m.refreshDetail(false)
		}
		return nil

	case spinner.TickMsg:
		// Once nothing runs the spinner stops ticking: an idle screen is still.
		if !m.busy() {
			return nil
		}
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
		}
		return nil

	case tea.KeyPressMsg:
		return m.onKey(msg)
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
	if msg.err != nil {
		m.state, m.err = stateFailed, msg.err
		m.outcome, m.plans = nil, nil
		for i := range m.steps {
			if m.steps[i].Status == checks.Running {
				m.steps[i].Status = ""
			}
		}
		m.refreshDetail(true)
		return
	}
	m.state, m.err = stateReady, nil
	m.outcome, m.plans = msg.outcome, msg.plans
	if m.cfg.ReadOnly {
		m.plans = nil
	}
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
	if !msg.rerun {
		// The first verdict selects the step of the most likely cause:
		// that is where the user will look first.
		if len(msg.outcome.Causes) > 0 {
			if n := causeStep(msg.outcome.Causes[0].ID); n > 0 {
				m.selected = n - 1
			}
		}
	}
	m.refreshDetail(!msg.rerun)
}

// onKey routes a key: the dialog first, then by focus, then the global keys.
func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
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
	if m.focus == focusDialog && m.dialog != nil {
		return m.dialogKey(msg)
	}
	switch {
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.relayout()
	case key.Matches(msg, k.Up):
		if m.focus == focusDetail {
			m.detail.ScrollUp(1)
		} else {
			m.selectStep(m.selected - 1)
		}
	case key.Matches(msg, k.Down):
		if m.focus == focusDetail {
			m.detail.ScrollDown(1)
		} else {
			m.selectStep(m.selected + 1)
		}
	case key.Matches(msg, k.PageUp):
		m.detail.PageUp()
	case key.Matches(msg, k.PageDown):
		m.detail.PageDown()
	case key.Matches(msg, k.Open):
		m.setFocus(focusDetail)
	case key.Matches(msg, k.Back):
		m.setFocus(focusSteps)
	case key.Matches(msg, k.Next):
		m.selectStep(m.selected + 1)
	case key.Matches(msg, k.Prev):
		m.selectStep(m.selected - 1)
	case key.Matches(msg, k.Learn):
		m.learn = !m.learn
		m.refreshDetail(true)
	case key.Matches(msg, k.Rerun):
		m.setStatus("", false)
		return m.rerun()
	case key.Matches(msg, k.Report):
		return m.writeReport()
	case key.Matches(msg, k.Fix) || (m.cfg.ReadOnly && key.Matches(msg, k.fixOff)):
		return m.openFix()
	}
	return nil
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
		m.keys.Confirm.SetEnabled(!busy && !d.done)
	}
	if m.cfg.Demo {
		m.keys.Confirm.SetHelp("y", "demo: no change")
	}
}

func (m *Model) selectStep(i int) {
	i = max(0, min(stepCount-1, i))
	if i != m.selected {
		m.selected = i
		m.refreshDetail(true)
	}
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
	m.state = stateDiscovering
	m.phase = ""
	for i := range m.steps {
		m.steps[i].Status = checks.Running
	}
	m.refreshDetail(false)
	return tea.Batch(m.startRunAgain(), m.spin.Tick)
}

// openFix opens the confirm dialog for the cause fixTarget names.
func (m *Model) openFix() tea.Cmd {
	if m.cfg.ReadOnly {
		m.setStatus("read-only: fixes are disabled", false)
		return nil
	}
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
		m.setStatus("no automatic fix for "+string(m.outcome.Causes[0].ID)+"; see the detail for what to do by hand", false)
		return nil
	}
	m.dialog = &fixDialog{cause: m.outcome.Causes[ci], fixes: m.fixesOf(ci), view: viewport.New()}
	m.setStatus("", false)
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
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.relayout()
	case d.applying:
		// While a fix is applied nothing else may start; q still quits.
	case d.done && (key.Matches(msg, k.Cancel) || msg.String() == "enter"):
		m.closeDialog()
	case d.done:
	case key.Matches(msg, k.OtherFix):
		d.idx = (d.idx + 1) % len(d.fixes)
		m.refreshDialog()
		d.view.GotoTop()
	case key.Matches(msg, k.Cancel):
		m.closeDialog()
		m.setStatus("fix cancelled: nothing was changed", false)
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
	if m.cfg.Demo {
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

// onApplied shows what the fix did and runs the checks again, so that the
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
	m.syncKeys()
	switch {
	case msg.err != nil:
		m.setStatus("fix failed: "+msg.err.Error(), true)
	case msg.applied.RolledBack:
		m.setStatus("fix rolled back: it did not help; nothing stays changed", true)
	default:
		m.setStatus("fix applied; running the checks again", false)
		if msg.applied.Verified {
			m.cfg.Options.NotBefore = msg.at
		}
	}
	m.refreshDialog()
	return m.rerun()
}
