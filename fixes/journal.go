package fixes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Entry is one applied fix as the journal keeps it: everything Undo needs,
// so that undo works from a new process long after the fix.
type Entry struct {
	ID   string    `json:"id"`
	Fix  Fix       `json:"fix"`
	When time.Time `json:"when"`
	// User applied the fix (the sudo user behind root): a bare undo takes
	// this user's last fix, not whoever's came last.
	User string `json:"user,omitempty"`
	// Nginx is the instance the fix reloads (again on undo).
	Nginx nginxRef `json:"nginx"`
	// Files are the files changed, with their backups.
	Files []FileBackup `json:"files,omitempty"`
	// Modes are owner/mode changes made in-process (sockets, directories).
	Modes []ModeBackup `json:"modes,omitempty"`
	// UndoCommands run in order on undo, but only when all of the fix's
	// Commands completed (CommandsRun == Commands): the undo of a firewall
	// rule's delete that failed or never ran would insert a rule that is
	// not gone. Entries without Commands predate the count: undo runs them.
	UndoCommands [][]string `json:"undo_commands,omitempty"`
	// RuleAt: the undo command inserts a firewall rule at its old position
	// (tool -I CHAIN N); a chain that has since lost rules gets it at its end.
	RuleAt      *ruleAt `json:"rule_at,omitempty"`
	Commands    int     `json:"commands,omitempty"`
	CommandsRun int     `json:"commands_run,omitempty"`
	// UndoAfter run once the files are restored.
	UndoAfter [][]string `json:"undo_after,omitempty"`
	// ReloadNginx and ReloadBackend say what to reload after restoring.
	ReloadNginx   bool       `json:"reload_nginx,omitempty"`
	ReloadBackend *reloadRef `json:"reload_backend,omitempty"`
	// ListenQueue is a socket's queue the fix raised in place; undo sets
	// its old value again after the reload.
	ListenQueue *listenQueue `json:"listen_queue,omitempty"`
	Applied     Applied      `json:"applied"`
	Undone      bool         `json:"undone"`
	UndoneAt    time.Time    `json:"undone_at,omitzero"`
}

// FileBackup is one changed file: Backup is a byte-for-byte copy of the old
// content ("" when the fix created the file, so undo removes it).
type FileBackup struct {
	Path    string   `json:"path"`
	Backup  string   `json:"backup,omitempty"`
	Created bool     `json:"created,omitempty"`
	Meta    fileMeta `json:"meta"`
	// Written is the sha256 of what the fix wrote: undo refuses to clobber
	// a file someone changed since.
	Written string `json:"written"`
	// NginxConfig: the file is part of nginx's config (nginx -t and reload).
	NginxConfig bool `json:"nginx_config,omitempty"`
}

// ModeBackup is an owner/mode change of a socket or directory.
type ModeBackup struct {
	Path   string   `json:"path"`
	Kind   string   `json:"kind"` // "socket" or "dir"
	Before fileMeta `json:"before"`
	After  fileMeta `json:"after"`
}

// nginxRef names the nginx instance: enough to test and reload it later.
type nginxRef struct {
	Binary    string `json:"binary"`
	Config    string `json:"config"`
	Prefix    string `json:"prefix,omitempty"`
	MasterPID int    `json:"master_pid,omitempty"`
}

// reloadRef reloads a backend: a command, or a signal to a master pid when
// there is no systemd.
type reloadRef struct {
	Argv   []string `json:"argv,omitempty"`
	PID    int      `json:"pid,omitempty"`
	Signal string   `json:"signal,omitempty"` // "USR2"
	// Name checks the pid still belongs to the same program ("php-fpm").
	Name string `json:"name,omitempty"`
}

func (r reloadRef) String() string {
	if len(r.Argv) > 0 {
		return strings.Join(r.Argv, " ")
	}
	return fmt.Sprintf("kill -%s %d", r.Signal, r.PID)
}

// journalDir opens the journal's directory, creating it (0700) when it is
// missing. It must belong to this user and nobody else may write it, nor
// any directory above it (a sticky /tmp holding a directory of ours is
// fine): else another user could plant an entry that undo would run.
func (e *Engine) journalDir() (*os.File, error) {
	if e.JournalDir == "" {
		return nil, errors.New("journal: no place for it (no home directory); set " + StateDirEnv + " to a directory of yours")
	}
	if !filepath.IsAbs(e.JournalDir) {
		return nil, fmt.Errorf("journal: %s is not an absolute path", e.JournalDir)
	}
	if err := os.MkdirAll(e.JournalDir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	d, err := openDirStrict(e.JournalDir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		d.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		d.Close()
		return nil, fmt.Errorf("journal: %s belongs to uid %d with mode %04o; it must be yours (uid %d) and not writable by others",
			e.JournalDir, st.Uid, st.Mode&0o7777, os.Geteuid())
	}
	return d, nil
}

// lock serialises fixes and undos across processes: two at once would
// interleave their nginx -t, reloads and restores.
func (e *Engine) lock() (func(), error) {
	d, err := e.journalDir()
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fd, err := unix.Openat(int(d.Fd()), ".lock", unix.O_CREAT|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal lock: %w", err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return nil, errors.New("another ngxdoctor is applying or undoing a fix; try again when it is done")
	}
	return func() { unix.Flock(fd, unix.LOCK_UN); unix.Close(fd) }, nil
}

func newJournalID(t time.Time) string {
	return t.UTC().Format("20060102T150405.000000000Z")
}

func (e *Engine) entryDir(id string) string { return filepath.Join(e.JournalDir, id) }

// save writes the entry atomically, so a crash leaves the old or the new
// record, never half of one.
func (e *Engine) save(en *Entry) error {
	d, err := e.journalDir()
	if err != nil {
		return err
	}
	defer d.Close()
	data, err := json.MarshalIndent(en, "", "  ")
	if err != nil {
		return err
	}
	if err := overwriteAt(d, en.ID+".json", append(data, '\n'), fileMeta{Mode: 0o600, UID: os.Geteuid(), GID: os.Getegid()}); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// backup copies a file's old content into the entry's directory.
func (e *Engine) backup(en *Entry, n int, path string, data []byte) (string, error) {
	d, err := e.journalDir()
	if err != nil {
		return "", err
	}
	defer d.Close()
	if err := unix.Mkdirat(int(d.Fd()), en.ID, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return "", fmt.Errorf("backup: %w", err)
	}
	bd, err := openDirStrict(e.entryDir(en.ID))
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	defer bd.Close()
	name := fmt.Sprintf("%02d-%s", n, filepath.Base(path))
	if err := overwriteAt(bd, name, data, fileMeta{Mode: 0o600, UID: os.Geteuid(), GID: os.Getegid()}); err != nil {
		return "", fmt.Errorf("backup of %s: %w", path, err)
	}
	return filepath.Join(e.entryDir(en.ID), name), nil
}

// Journal lists the journal's entries, oldest first. Entries that are not
// this user's are left out (load refuses them; JournalProblems names them).
func (e *Engine) Journal() ([]Entry, error) {
	out, _, err := e.entries()
	return out, err
}

// JournalProblems names the entries the journal holds but refuses.
func (e *Engine) JournalProblems() []string {
	_, bad, _ := e.entries()
	return bad
}

func (e *Engine) entries() ([]Entry, []string, error) {
	if e.JournalDir == "" {
		return nil, nil, nil
	}
	if _, err := os.Lstat(e.JournalDir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	d, err := e.journalDir()
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	fd, err := unix.Openat(int(d.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	lf := os.NewFile(uintptr(fd), e.JournalDir)
	des, err := lf.ReadDir(-1)
	lf.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	var out []Entry
	var bad []string
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), ".json") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		en, err := e.loadFrom(d, strings.TrimSuffix(de.Name(), ".json"))
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, en)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].When.Before(out[j].When) })
	return out, bad, nil
}

func (e *Engine) load(id string) (Entry, error) {
	d, err := e.journalDir()
	if err != nil {
		return Entry{}, err
	}
	defer d.Close()
	return e.loadFrom(d, id)
}

// loadFrom reads one entry, refusing one that is not this user's: undo
// runs what an entry says.
func (e *Engine) loadFrom(d *os.File, id string) (Entry, error) {
	if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return Entry{}, fmt.Errorf("journal: bad id %q", id)
	}
	data, meta, err := readAt(d, id+".json")
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, fmt.Errorf("journal: no applied fix %q", id)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("journal: %w", err)
	}
	if meta.UID != os.Geteuid() || meta.Mode&0o022 != 0 {
		return Entry{}, fmt.Errorf("journal entry %s belongs to uid %d (mode %04o), not to you (uid %d); refusing it",
			filepath.Join(e.JournalDir, id+".json"), meta.UID, meta.Mode.Perm(), os.Geteuid())
	}
	var en Entry
	if err := json.Unmarshal(data, &en); err != nil {
		return Entry{}, fmt.Errorf("journal %s: %w", id, err)
	}
	// Backups live in the entry's own directory; anything else is not ours.
	for _, fb := range en.Files {
		if fb.Backup != "" && filepath.Dir(fb.Backup) != e.entryDir(en.ID) {
			return Entry{}, fmt.Errorf("journal entry %s: backup %s is outside the journal; refusing it", id, fb.Backup)
		}
	}
	return en, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
