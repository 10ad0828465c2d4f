package fixes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
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
	// advice: not a cure, judged only by its own checks: checkURL, the file
	// nginx must write (checkFile) and a command that must succeed (checkCmd).
	advice    bool
	checkFile string
	checkCmd  []string
	// reloadNginx: reload after the change even without an edit.
	reloadNginx   bool
	reloadBackend *reloadRef
	// workerFiles: every nginx worker after the reload may open at least
	// this many files (the open-files fix; no single request shows it).
	workerFiles uint64
	// holdConns idle connections to holdAddr must all stay open after
	// the reload (the worker_connections fix).
	holdConns int
	holdAddr  string
	// queue: a listening socket's accept queue raised in place after the
	// backend's reload (listenqueue.go).
	queue *listenQueue
	// show are commands whose output is logged before and after (journalctl).
	show [][]string
	// files are the files the plan read (bind), for saying which changed.
	files []string
	// ruleAt: read the firewall rule's position before deleting it (firewall.go).
	ruleAt *ruleAt
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
	var changes []fileChange
	if len(p.edits) > 0 {
		if ch, err := planFiles(filesOf(o), p.edits); err == nil {
			changes = ch
			if p.Diff == "" {
				p.Diff = unifiedDiff(ch)
			}
			for _, c := range ch {
				if c.Link != "" {
					p.Warning = strings.TrimPrefix(p.Warning+"; "+c.Link+" is a symlink: its target "+c.Path+" is edited", "; ")
				}
			}
		}
	}
	p.bind(changes)
}

// bind ends the fix's ID with a digest of what it was planned from: the
// evidence as the preview shows it (title, commands, undo, warning) and
// the bytes of every file it edits. "fix ID --yes" plans again and refuses
// when either half differs, so what is applied is what the user read.
func (p *plan) bind(changes []fileChange) {
	ev := sha256.New()
	fmt.Fprintf(ev, "%s\x00%s\x00%s\x00%s\x00%s\x00%t\x00", p.Cause, p.Target, p.Title, p.Undo, p.Warning, p.Transient)
	for _, c := range p.Commands {
		fmt.Fprintf(ev, "%q\x00", c)
	}
	for _, ed := range p.edits {
		fmt.Fprintf(ev, "%s\x00%d\x00%q\x00%q\x00", ed.Path, ed.Off, ed.Old, ed.New)
	}
	fl := sha256.New()
	p.files = nil
	for _, c := range changes {
		fmt.Fprintf(fl, "%s\x00%t\x00%d\x00", c.Path, c.Create, len(c.Before))
		fl.Write([]byte(c.Before))
		p.files = append(p.files, c.Path)
	}
	p.ID = baseID(p.ID) + "@" + hex.EncodeToString(ev.Sum(nil))[:digestLen/2] + hex.EncodeToString(fl.Sum(nil))[:digestLen/2]
}

// Apply carries a fix out under the safety rules, verifies it and rolls it
// back when it makes things worse.
func (e *Engine) Apply(ctx context.Context, o *checks.Outcome, f Fix, opts Options) (Applied, error) {
	res := Applied{Fix: f}
	if opts.ReadOnly {
		return res, ErrReadOnly
	}
	if f.NotOffered != "" {
		return res, fmt.Errorf("fix %s is not offered: %s", f.ID, f.NotOffered)
	}
	p, ok := e.find(o, f.ID)
	if !ok {
		if _, _, err := e.Find(o, f.ID); err != nil {
			return res, err
		}
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
	if p.NotOffered != "" {
		return res, fmt.Errorf("fix %s is not offered: %s", p.ID, p.NotOffered)
	}
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

	en := &Entry{ID: newJournalID(e.now()), Fix: p.Fix, When: e.now(), Nginx: nx, User: invokingUser(),
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
				return res, fmt.Errorf("nothing was changed: %w", err)
			}
			logf("backed up %s to %s", c.Path, fb.Backup)
		}
		en.Files = append(en.Files, fb)
	}
	// On undo nginx is reloaded only when its files come back; a bare
	// reload has nothing to revert.
	en.ReloadNginx = p.nginxEdits
	if err := e.save(en); err != nil {
		return res, fmt.Errorf("nothing was changed: %w", err)
	}
	res.JournalID = en.ID
	// A journal write that fails once the change is live does not stop
	// the fix (undoing it needs the same journal): it is reported at the
	// end with every undo step spelled out.
	var journalErr error

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
		var err error
		if c.Create {
			err = createAtomic(c.Path, []byte(c.After), en.Files[i].Meta)
		} else {
			err = swapAtomic(c.Path, []byte(c.After), []byte(c.Before), en.Files[i].Meta)
		}
		if err != nil {
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
	if p.ruleAt != nil {
		at := *p.ruleAt
		undo, err := e.undoAt(ctx, &at)
		if err != nil {
			return fail(err)
		}
		en.UndoCommands, en.RuleAt = [][]string{undo}, &at
		if err := e.save(en); err != nil {
			return fail(err)
		}
		logf("%s", at.position(undo))
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
			journalErr = err
		}
	}
	if p.reloadBackend != nil {
		backendLive = true
		if err := e.reloadBackend(ctx, *p.reloadBackend); err != nil {
			return fail(err)
		}
		logf("reloaded the backend: %s", p.reloadBackend)
	}
	if p.queue != nil {
		// Journalled before listen(2), like Modes: a listen(2) that took
		// but failed its check, or a crash right after it, must still be
		// undone. Undo of a queue never raised sets the old value again.
		q := *p.queue
		en.ListenQueue = &q
		if err := e.save(en); err != nil {
			return fail(err)
		}
		err := e.setQueue(ctx, q, q.To)
		switch {
		case noBorrow(err):
			// The kernel lends no descriptor (pidfd_getfd: Linux 5.6, and
			// ptrace rights): nothing changed. The pool file and the
			// reload stand; the queue waits for php-fpm's restart.
			en.ListenQueue = nil
			if err := e.save(en); err != nil {
				logf("journal: %v", err)
				journalErr = err
			}
			logf("note: %v; the new listen.backlog takes effect at the next php-fpm restart (systemctl restart php-fpm, which drops the connections in flight)", err)
		case err != nil:
			return fail(err)
		default:
			if soma := e.somaxconn(); q.To > soma {
				logf("note: the kernel caps the queue at net.core.somaxconn %d, not %d", soma, q.To)
			}
			logf("done: %s", q)
		}
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
	res.Verified, res.Requests = v.ok, v.requests
	if v.regressed && p.revertible {
		return fail(errors.New("verification failed: " + v.reason))
	}
	if v.regressed {
		logf("not verified: %s (the change is kept; undo with: ngxdoctor undo %s)", v.reason, en.ID)
	}
	en.Applied = res
	if err := e.save(en); err != nil {
		journalErr = err
	}
	if journalErr != nil {
		return res, &JournalError{Err: journalErr, ID: en.ID, Steps: manualUndo(en)}
	}
	return res, nil
}

// JournalError: the fix is live, but the journal could not record all of
// it, so "ngxdoctor undo" may not know everything; Steps undo it by hand.
type JournalError struct {
	Err   error
	ID    string
	Steps []string
}

func (j *JournalError) Error() string {
	return fmt.Sprintf("the fix is applied, but its journal entry %s could not be updated (%v); "+
		"ngxdoctor undo %s may not undo all of it. To undo by hand, run in order:\n  %s",
		j.ID, j.Err, j.ID, strings.Join(j.Steps, "\n  "))
}

func (j *JournalError) Unwrap() error { return j.Err }

// manualUndo spells out what Undo would do for the entry, as commands a
// person can run.
func manualUndo(en *Entry) []string {
	var out []string
	add := func(argv ...string) { out = append(out, shellWords(argv)) }
	for _, c := range en.UndoCommands {
		add(c...)
	}
	for i := len(en.Files) - 1; i >= 0; i-- {
		fb := en.Files[i]
		if fb.Created {
			add("rm", "--", fb.Path)
			continue
		}
		add("cp", "--", fb.Backup, fb.Path)
		add("chown", fmt.Sprintf("%d:%d", fb.Meta.UID, fb.Meta.GID), fb.Path)
		add("chmod", fmt.Sprintf("%04o", fb.Meta.Mode.Perm()), fb.Path)
	}
	for i := len(en.Modes) - 1; i >= 0; i-- {
		m := en.Modes[i]
		add("chown", fmt.Sprintf("%d:%d", m.Before.UID, m.Before.GID), m.Path)
		add("chmod", fmt.Sprintf("%04o", m.Before.Mode.Perm()), m.Path)
	}
	for _, c := range en.UndoAfter {
		add(c...)
	}
	if r := en.ReloadBackend; r != nil {
		out = append(out, r.String())
	}
	if q := en.ListenQueue; q != nil {
		out = append(out, fmt.Sprintf("# %s keeps its raised listen queue (%d) until its next restart, which reads the restored listen.backlog (%d)", q.Name, q.To, q.From))
	}
	if en.ReloadNginx {
		add(en.Nginx.testArgv()...)
		add(en.Nginx.reloadArgv()...)
	}
	return out
}

// shellWords quotes argv for a person to paste (never run by us).
func shellWords(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && plainWord.MatchString(a) {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
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
			cmds := en.UndoCommands
			if en.RuleAt != nil && len(cmds) == 1 {
				cmds = [][]string{e.clampPosition(ctx, *en.RuleAt, cmds[0])}
			}
			runAll(cmds)
		}
	}
	nginxFiles := false
	for i := len(en.Files) - 1; i >= 0; i-- {
		fb := en.Files[i]
		done, err := restoreFile(fb)
		switch {
		case err != nil:
			errs = append(errs, err)
			logf("could not restore %s: %v", fb.Path, err)
			continue
		case !done:
			logf("%s already holds its old content", fb.Path)
		case fb.Created:
			logf("removed %s", fb.Path)
		default:
			logf("restored %s byte for byte", fb.Path)
		}
		nginxFiles = nginxFiles || fb.NginxConfig
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
	// After the reload: php-fpm re-executed with the same socket, whose
	// queue is still the raised one.
	if q := en.ListenQueue; q != nil && reloadBackend {
		if !alive(q.PID, q.Name) {
			logf("%s (pid %d) is no longer running: its socket's queue went with it", q.Name, q.PID)
		} else if err := e.setQueue(ctx, *q, q.From); err != nil {
			errs = append(errs, err)
			logf("%v", err)
		} else {
			logf("gave %s its listen queue of %d back", q.Listen, q.From)
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

// restoreCheck says what undoing one file would do, changing nothing:
// refused (err), nothing to do (the file already holds its old content,
// or a created file is gone), or restore. Undo checks every file first, so
// an undo that refuses one changes none, and reloads nothing.
func restoreCheck(fb FileBackup) (cur, old []byte, todo bool, err error) {
	cur, _, err = readNoFollow(fb.Path)
	gone := errors.Is(err, os.ErrNotExist)
	if err != nil && !gone {
		return nil, nil, false, err
	}
	if fb.Created {
		if gone {
			return nil, nil, false, nil
		}
		if sha(cur) != fb.Written {
			return nil, nil, false, fmt.Errorf("%s: not what this fix wrote (%w); left as it is", fb.Path, ErrChanged)
		}
		return cur, nil, true, nil
	}
	old, _, berr := readNoFollow(fb.Backup)
	if berr != nil {
		return nil, nil, false, fmt.Errorf("backup of %s: %w", fb.Path, berr)
	}
	if gone {
		return nil, old, true, nil
	}
	if sha(cur) != fb.Written {
		if sha(cur) == sha(old) {
			// Never written (a crash or a failure before this file's turn)
			// or already put back: nothing to restore.
			return cur, old, false, nil
		}
		return nil, nil, false, fmt.Errorf("%s: %w since the fix; restore by hand from %s", fb.Path, ErrChanged, fb.Backup)
	}
	return cur, old, true, nil
}

// restoreFile writes the backup back byte for byte (or removes a created
// file), refusing when the file was changed by someone since the fix; the
// bytes are compared again under the rename.
func restoreFile(fb FileBackup) (bool, error) {
	cur, old, todo, err := restoreCheck(fb)
	if err != nil || !todo {
		return false, err
	}
	switch {
	case fb.Created:
		return true, removeRegular(fb.Path)
	case cur == nil:
		// Gone since the fix: put the old content back as a new file.
		return true, createAtomic(fb.Path, old, fb.Meta)
	}
	return true, swapAtomic(fb.Path, old, cur, fb.Meta)
}

// Undo reverts the fix with the journal id (or fix ID) given, or this
// user's last one not yet undone, using only the journal. An undo that
// refuses (a file changed since the fix) changes nothing: every file is
// checked before the first is touched, and nothing is reloaded.
func (e *Engine) Undo(ctx context.Context, id string) (Applied, error) {
	if id == "" {
		en, err := e.Last()
		if err != nil {
			return Applied{}, err
		}
		id = en.ID
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
		base := baseID(id)
		for i := len(all) - 1; i >= 0 && !found; i-- {
			if baseID(all[i].Fix.ID) == base && !all[i].Undone {
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
	var refused []error
	for _, fb := range en.Files {
		if _, _, _, err := restoreCheck(fb); err != nil {
			refused = append(refused, err)
		}
	}
	if len(refused) > 0 {
		return res, fmt.Errorf("undo %s refused; nothing was changed or reloaded: %w", en.ID, errors.Join(refused...))
	}
	logf := func(format string, a ...any) { res.Log = append(res.Log, fmt.Sprintf(format, a...)) }
	err = e.revert(ctx, &en, logf, true, true, true)
	if err == nil {
		en.Undone, en.UndoneAt = true, e.now()
		if serr := e.save(&en); serr != nil {
			return res, fmt.Errorf("undone, but the journal could not record it (a later undo will find the files already restored): %w", serr)
		}
	}
	res.RolledBack = err == nil
	return res, err
}

// Last is this user's last fix not yet undone: the one a bare undo takes.
func (e *Engine) Last() (Entry, error) {
	all, err := e.Journal()
	if err != nil {
		return Entry{}, err
	}
	me := invokingUser()
	others := 0
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Undone {
			continue
		}
		if all[i].User == me || all[i].User == "" {
			return all[i], nil
		}
		others++
	}
	if others > 0 {
		return Entry{}, fmt.Errorf("nothing of yours (%s) to undo; %d fix(es) by other users are not undone: see ngxdoctor undo --list", me, others)
	}
	return Entry{}, errors.New("nothing to undo: every journaled fix is already undone")
}

// invokingUser is who asked for the fix: the sudo user behind root, else
// this process's user.
func invokingUser() string {
	if os.Geteuid() == 0 {
		if u := os.Getenv("SUDO_USER"); u != "" {
			return u
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}
