package fixes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// plan is a Fix with what the engine needs to carry it out. Fix is the
// preview; the rest must agree with it.
type plan struct {
	Fix
	cause checks.Cause
	// edits change files; nginxEdits are part of nginx's config (nginx -t
	// before and after, reload, verify, roll back on regression).
	edits      []Edit
	nginxEdits bool
	modes      []modeChange
	commands   [][]string
	undo       [][]string
	// undoAfter run on undo after the files are restored (systemctl daemon-reload).
	undoAfter [][]string
	// checkURL, when set, must answer 200 through nginx after the change.
	checkURL string
	// reloadNginx: reload after the change even without an edit.
	reloadNginx   bool
	reloadBackend *reloadRef
	// show are commands whose output is logged before and after (journalctl).
	show [][]string
	// revertible: a failed verification reverts the change (file edits and
	// mode changes); commands such as a service restart are only reported.
	revertible bool
}

// nginx returns the instance to test and reload.
func nginxOf(o *checks.Outcome) nginxRef {
	r := nginxRef{Binary: "nginx"}
	if o == nil || o.Snapshot == nil {
		return r
	}
	in := o.Snapshot.Install
	if in.Binary != "" {
		r.Binary = in.Binary
	}
	r.Config = in.Config
	if r.Config == "" && o.Snapshot.Config != nil {
		r.Config = o.Snapshot.Config.Main
	}
	r.Prefix = in.Prefix
	if in.Running {
		r.MasterPID = int(in.MasterPID)
	}
	return r
}

func (n nginxRef) args(extra ...string) []string {
	argv := append([]string{n.Binary}, extra...)
	if n.Config != "" {
		argv = append(argv, "-c", n.Config)
	}
	if n.Prefix != "" {
		argv = append(argv, "-p", n.Prefix)
	}
	return argv
}

func (n nginxRef) testArgv() []string { return n.args("-t", "-q") }

// reloadArgv is what the preview shows: a HUP to the master we saw, or
// nginx -s reload when no master is known.
func (n nginxRef) reloadArgv() []string {
	if n.MasterPID > 0 {
		return []string{"kill", "-HUP", fmt.Sprint(n.MasterPID)}
	}
	return n.args("-s", "reload")
}

// finish fills the preview's command list from the plan.
func (p *plan) finish(o *checks.Outcome) {
	nx := nginxOf(o)
	var cmds [][]string
	if p.nginxEdits {
		cmds = append(cmds, nx.testArgv())
	}
	for _, m := range p.modes {
		cmds = append(cmds, m.argv()...)
	}
	// The read-only log commands run around the change too: show them.
	cmds = append(cmds, p.show...)
	cmds = append(cmds, p.commands...)
	cmds = append(cmds, p.show...)
	if p.reloadBackend != nil {
		cmds = append(cmds, strings.Fields(p.reloadBackend.String()))
	}
	if p.nginxEdits || p.reloadNginx {
		if p.nginxEdits {
			cmds = append(cmds, nx.testArgv())
		}
		cmds = append(cmds, nx.reloadArgv())
	}
	p.Commands = cmds
	if len(p.edits) > 0 && p.Diff == "" {
		if ch, err := planFiles(filesOf(o), p.edits); err == nil {
			p.Diff = unifiedDiff(ch)
			for _, c := range ch {
				if c.Link != "" {
					p.Warning = strings.TrimPrefix(p.Warning+"; "+c.Link+" is a symlink: its target "+c.Path+" is edited", "; ")
				}
			}
		}
	}
}

// Apply carries a fix out under the safety rules, verifies it and rolls it
// back when it makes things worse.
func (e *Engine) Apply(ctx context.Context, o *checks.Outcome, f Fix, opts Options) (Applied, error) {
	res := Applied{Fix: f}
	if opts.ReadOnly {
		return res, ErrReadOnly
	}
	p, ok := e.find(o, f.ID)
	if !ok {
		return res, fmt.Errorf("fix %s: not offered for this evidence (run the check again)", f.ID)
	}
	if f.Diff != "" && f.Diff != p.Diff {
		return res, fmt.Errorf("fix %s: %w: the change would differ from the preview", f.ID, ErrChanged)
	}
	// The commands confirmed are the commands run: a plan made afresh on a
	// host that changed since the preview is refused, not run instead.
	if len(f.Commands) > 0 && !slices.EqualFunc(f.Commands, p.Commands, slices.Equal[[]string]) {
		return res, fmt.Errorf("fix %s: the commands would differ from the preview (the host changed since); check again", f.ID)
	}
	return e.applyPlan(ctx, o, p, opts)
}

// applyPlan is Apply once the fix is planned afresh.
func (e *Engine) applyPlan(ctx context.Context, o *checks.Outcome, p plan, opts Options) (Applied, error) {
	res := Applied{Fix: p.Fix}
	logf := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		res.Log = append(res.Log, s)
		if opts.Progress != nil {
			opts.Progress(s)
		}
	}
	if opts.DryRun {
		for _, c := range p.Commands {
			logf("would run: %s", strings.Join(c, " "))
		}
		if p.Diff != "" {
			logf("would change files:\n%s", p.Diff)
		}
		logf("undo: %s", p.Undo)
		return res, nil
	}
	unlock, err := e.lock()
	if err != nil {
		return res, err
	}
	defer unlock()
	nx := nginxOf(o)
	// Always the live files: what is written must be what is there now.
	changes, err := planFiles(files{}, p.edits)
	if err != nil {
		return res, err
	}
	if d := unifiedDiff(changes); p.Diff != "" && d != p.Diff {
		return res, fmt.Errorf("fix %s: %w: the change would differ from the preview", p.ID, ErrChanged)
	}
	if p.nginxEdits {
		if out, err := e.run(ctx, nx.testArgv()); err != nil {
			return res, fmt.Errorf("nginx -t fails before any change, refusing to edit: %w", withOutput(err, out))
		}
		logf("nginx -t ok before the change")
	}

	en := &Entry{ID: newJournalID(e.now()), Fix: p.Fix, When: e.now(), Nginx: nx,
		UndoCommands: p.undo, UndoAfter: p.undoAfter, ReloadBackend: p.reloadBackend, Commands: len(p.commands)}
	oldWorkers := children(nx.MasterPID)

	// Back every file up before the first write, and journal the backups, so
	// an interrupted fix can still be undone.
	for i, c := range changes {
		fb := FileBackup{Path: c.Path, Created: c.Create, Written: sha([]byte(c.After)), NginxConfig: p.nginxEdits}
		if c.Create {
			fb.Meta = fileMeta{Mode: 0o644, UID: os.Geteuid(), GID: os.Getegid()}
			if fi, err := os.Stat(filepath.Dir(c.Path)); err == nil {
				// A new file in nginx's or systemd's directory belongs to its owner.
				m := metaOf(fi)
				fb.Meta.UID, fb.Meta.GID = m.UID, m.GID
			}
		} else {
			data, meta, err := readNoFollow(c.Path)
			if err != nil {
				return res, err
			}
			if string(data) != c.Before {
				return res, fmt.Errorf("%s: %w", c.Path, ErrChanged)
			}
			fb.Meta = meta
			if fb.Backup, err = e.backup(en, i, c.Path, data); err != nil {
				return res, err
			}
			logf("backed up %s to %s", c.Path, fb.Backup)
		}
		en.Files = append(en.Files, fb)
	}
	// On undo nginx is reloaded only when its files come back; a bare
	// reload has nothing to revert.
	en.ReloadNginx = p.nginxEdits
	if err := e.save(en); err != nil {
		return res, err
	}
	res.JournalID = en.ID

	// nginxLive: the changed files were handed to nginx (a reload was
	// attempted). Before that, restoring the files is enough: a reload
	// would only load whatever else changed on disk since nginx's start.
	nginxLive, backendLive := false, false
	fail := func(err error) (Applied, error) {
		logf("%v", err)
		res.RolledBack = true
		// Restoring must finish even when the caller gave up (a quit in the
		// TUI): a half-applied fix is worse than a late answer.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		e.revert(rctx, en, logf, false, nginxLive, backendLive)
		en.Applied, en.Undone, en.UndoneAt = res, true, e.now()
		en.Applied.Log = res.Log
		_ = e.save(en)
		return res, err
	}

	for i, c := range changes {
		write := writeAtomic
		if c.Create {
			write = createAtomic
		}
		if err := write(c.Path, []byte(c.After), en.Files[i].Meta); err != nil {
			return fail(fmt.Errorf("writing %s: %w", c.Path, err))
		}
		logf("wrote %s", c.Path)
	}
	if p.nginxEdits {
		if out, err := e.run(ctx, nx.testArgv()); err != nil {
			return fail(fmt.Errorf("nginx -t fails after the change, restoring the files: %w", withOutput(err, out)))
		}
		logf("nginx -t ok after the change")
	}
	// The error log is judged from here on: what failed before the change
	// took effect (live traffic during the apply) says nothing about it.
	offsets := errorLogOffsets(o)
	for _, m := range p.modes {
		pm, err := m.prepare()
		if err != nil {
			return fail(err)
		}
		// Journal the old owner and mode before changing them: a crash
		// right after the change must not lose them. Undo of a change that
		// never happened finds the path unlike After and leaves it.
		en.Modes = append(en.Modes, pm.backup)
		if err := e.save(en); err != nil {
			pm.close()
			return fail(err)
		}
		if err := pm.commit(); err != nil {
			return fail(err)
		}
		for _, a := range m.argv() {
			logf("done: %s", strings.Join(a, " "))
		}
	}
	for _, c := range p.show {
		if out, err := e.run(ctx, c); err == nil {
			logf("before: %s\n%s", strings.Join(c, " "), out)
		}
	}
	for _, c := range p.commands {
		out, err := e.run(ctx, c)
		if err != nil {
			if p.revertible {
				return fail(withOutput(err, out))
			}
			logf("%v", withOutput(err, out))
			en.Applied = res
			_ = e.save(en)
			return res, withOutput(err, out)
		}
		logf("ran %s", strings.Join(c, " "))
		en.CommandsRun++
		if err := e.save(en); err != nil {
			logf("journal: %v", err)
		}
	}
	if p.reloadBackend != nil {
		backendLive = true
		if err := e.reloadBackend(ctx, *p.reloadBackend); err != nil {
			return fail(err)
		}
		logf("reloaded the backend: %s", p.reloadBackend)
	}
	// Lines from workers that ran before the reload are not judged: they
	// serve their last requests with the old config.
	var oldPIDs map[int]bool
	if p.nginxEdits || p.reloadNginx {
		nginxLive = true
		if err := e.reloadNginx(ctx, nx, oldWorkers, logf); err != nil {
			return fail(err)
		}
		oldPIDs = oldWorkers
	}
	for _, c := range p.show {
		if out, err := e.run(ctx, c); err == nil {
			logf("after: %s\n%s", strings.Join(c, " "), out)
		}
	}

	v := e.verify(ctx, o, p, offsets, oldPIDs, logf)
	res.Verified = v.ok
	if v.regressed && p.revertible {
		return fail(errors.New("verification failed: " + v.reason))
	}
	if v.regressed {
		logf("not verified: %s (the change is kept; undo with: ngxdoctor undo %s)", v.reason, en.ID)
	}
	en.Applied = res
	if err := e.save(en); err != nil {
		return res, err
	}
	return res, nil
}

func withOutput(err error, out string) error {
	if out == "" || strings.Contains(err.Error(), firstLines(out, 5)) {
		return err
	}
	return fmt.Errorf("%w: %s", err, firstLines(out, 5))
}

// revert puts every file and mode of the entry back and reloads what was
// reloaded. undoCommands also runs the entry's undo argv (Undo, not a
// failed apply, whose commands have not all run); reloadNginx and
// reloadBackend are false for a failed apply that had not reloaded them yet.
func (e *Engine) revert(ctx context.Context, en *Entry, logf func(string, ...any), undoCommands, reloadNginx, reloadBackend bool) error {
	var errs []error
	runAll := func(cmds [][]string) {
		for _, c := range cmds {
			if out, err := e.run(ctx, c); err != nil {
				errs = append(errs, withOutput(err, out))
				logf("%v", withOutput(err, out))
			} else {
				logf("ran %s", strings.Join(c, " "))
			}
		}
	}
	// Commands first: a timer is stopped before its unit file goes away.
	if undoCommands && len(en.UndoCommands) > 0 {
		if en.Commands > 0 && en.CommandsRun < en.Commands {
			logf("the fix's commands did not all complete (%d of %d): not running %q", en.CommandsRun, en.Commands, en.UndoCommands)
		} else {
			runAll(en.UndoCommands)
		}
	}
	nginxFiles := false
	for i := len(en.Files) - 1; i >= 0; i-- {
		fb := en.Files[i]
		if err := restoreFile(fb); err != nil {
			errs = append(errs, err)
			logf("could not restore %s: %v", fb.Path, err)
			continue
		}
		nginxFiles = nginxFiles || fb.NginxConfig
		if fb.Created {
			logf("removed %s", fb.Path)
		} else {
			logf("restored %s byte for byte", fb.Path)
		}
	}
	for i := len(en.Modes) - 1; i >= 0; i-- {
		switch done, err := restoreMode(en.Modes[i]); {
		case err != nil:
			errs = append(errs, err)
			logf("%v", err)
		case done:
			logf("restored owner and mode of %s", en.Modes[i].Path)
		default:
			logf("%s changed since the fix (a new socket?): left as it is", en.Modes[i].Path)
		}
	}
	if undoCommands {
		runAll(en.UndoAfter)
	}
	switch r := en.ReloadBackend; {
	case !reloadBackend || r == nil:
		// Nothing was reloaded: the backend still runs what it read before.
	case len(r.Argv) == 0 && !alive(r.PID, r.Name):
		// The master that read the changed file is gone; whatever runs now
		// read the restored file or will at its next start.
		logf("%s (pid %d) is no longer running: nothing to reload", r.Name, r.PID)
	default:
		if err := e.reloadBackend(ctx, *r); err != nil {
			errs = append(errs, err)
			logf("%v", err)
		}
	}
	if reloadNginx && (en.ReloadNginx || nginxFiles) {
		if out, err := e.run(ctx, en.Nginx.testArgv()); err != nil {
			err = fmt.Errorf("nginx -t fails after restoring, not reloading: %w", withOutput(err, out))
			errs = append(errs, err)
			logf("%v", err)
		} else if err := e.reloadNginx(ctx, en.Nginx, children(en.Nginx.MasterPID), logf); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// restoreFile writes the backup back byte for byte (or removes a created
// file), refusing when the file was changed by someone since the fix.
func restoreFile(fb FileBackup) error {
	cur, _, err := readNoFollow(fb.Path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if fb.Created {
		if err == nil && sha(cur) != fb.Written {
			return fmt.Errorf("%s: not what this fix wrote (%w); left as it is", fb.Path, ErrChanged)
		}
		return removeRegular(fb.Path)
	}
	old, _, berr := readNoFollow(fb.Backup)
	if berr != nil {
		return fmt.Errorf("backup: %w", berr)
	}
	if err == nil && sha(cur) != fb.Written {
		if sha(cur) == sha(old) {
			// Never written (a crash or a failure before this file's turn)
			// or already put back: nothing to restore.
			return nil
		}
		return fmt.Errorf("%s: %w since the fix; restore by hand from %s", fb.Path, ErrChanged, fb.Backup)
	}
	return writeAtomic(fb.Path, old, fb.Meta)
}

// Undo reverts the fix with the journal id (or fix ID) given, or the last
// one not yet undone, using only the journal.
func (e *Engine) Undo(ctx context.Context, id string) (Applied, error) {
	if id == "" {
		all, err := e.Journal()
		if err != nil {
			return Applied{}, err
		}
		for i := len(all) - 1; i >= 0; i-- {
			if !all[i].Undone {
				id = all[i].ID
				break
			}
		}
		if id == "" {
			return Applied{}, errors.New("nothing to undo: every journaled fix is already undone")
		}
	}
	unlock, err := e.lock()
	if err != nil {
		return Applied{}, err
	}
	defer unlock()
	en, err := e.load(id)
	if err != nil {
		// A fix ID from a report names the latest application of that fix.
		all, jerr := e.Journal()
		if jerr != nil {
			return Applied{}, err
		}
		found := false
		for i := len(all) - 1; i >= 0 && !found; i-- {
			if all[i].Fix.ID == id && !all[i].Undone {
				en, found = all[i], true
			}
		}
		if !found {
			return Applied{}, err
		}
	}
	res := Applied{Fix: en.Fix, JournalID: en.ID}
	if en.Undone {
		return res, fmt.Errorf("fix %s (%s) is already undone", en.ID, en.Fix.ID)
	}
	logf := func(format string, a ...any) { res.Log = append(res.Log, fmt.Sprintf(format, a...)) }
	err = e.revert(ctx, &en, logf, true, true, true)
	if err == nil {
		en.Undone, en.UndoneAt = true, e.now()
		if serr := e.save(&en); serr != nil {
			return res, serr
		}
	}
	res.RolledBack = err == nil
	return res, err
}
