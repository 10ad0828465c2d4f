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
	"syscall"
	"time"
)

// Entry is one applied fix as the journal keeps it: everything Undo needs,
// so that undo works from a new process long after the fix.
type Entry struct {
	ID   string    `json:"id"`
	Fix  Fix       `json:"fix"`
	When time.Time `json:"when"`
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
	Commands     int        `json:"commands,omitempty"`
	CommandsRun  int        `json:"commands_run,omitempty"`
	// UndoAfter run once the files are restored.
	UndoAfter [][]string `json:"undo_after,omitempty"`
	// ReloadNginx and ReloadBackend say what to reload after restoring.
	ReloadNginx   bool       `json:"reload_nginx,omitempty"`
	ReloadBackend *reloadRef `json:"reload_backend,omitempty"`
	Applied       Applied    `json:"applied"`
	Undone        bool       `json:"undone"`
	UndoneAt      time.Time  `json:"undone_at,omitzero"`
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

// lock serialises fixes and undos across processes: two at once would
// interleave their nginx -t, reloads and restores.
func (e *Engine) lock() (func(), error) {
	if err := os.MkdirAll(e.JournalDir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(e.JournalDir, ".lock"), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, errors.New("another ngxdoctor is applying or undoing a fix; try again when it is done")
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func newJournalID(t time.Time) string {
	return t.UTC().Format("20060102T150405.000000000Z")
}

func (e *Engine) entryDir(id string) string { return filepath.Join(e.JournalDir, id) }

// save writes the entry atomically, so a crash leaves the old or the new
// record, never half of one.
func (e *Engine) save(en *Entry) error {
	if err := os.MkdirAll(e.JournalDir, 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	data, err := json.MarshalIndent(en, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(e.JournalDir, en.ID+".json"), append(data, '\n'),
		fileMeta{Mode: 0o600, UID: os.Geteuid(), GID: os.Getegid()})
}

// backup copies a file's old content into the entry's directory.
func (e *Engine) backup(en *Entry, n int, path string, data []byte) (string, error) {
	dir := e.entryDir(en.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	dst := filepath.Join(dir, fmt.Sprintf("%02d-%s", n, filepath.Base(path)))
	if err := writeAtomic(dst, data, fileMeta{Mode: 0o600, UID: os.Geteuid(), GID: os.Getegid()}); err != nil {
		return "", fmt.Errorf("backup of %s: %w", path, err)
	}
	return dst, nil
}

// Journal lists the journal's entries, oldest first.
func (e *Engine) Journal() ([]Entry, error) {
	des, err := os.ReadDir(e.JournalDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		en, err := e.load(strings.TrimSuffix(de.Name(), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, en)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].When.Before(out[j].When) })
	return out, nil
}

func (e *Engine) load(id string) (Entry, error) {
	if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return Entry{}, fmt.Errorf("journal: bad id %q", id)
	}
	data, _, err := readNoFollow(filepath.Join(e.JournalDir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, fmt.Errorf("journal: no applied fix %q", id)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("journal: %w", err)
	}
	var en Entry
	if err := json.Unmarshal(data, &en); err != nil {
		return Entry{}, fmt.Errorf("journal %s: %w", id, err)
	}
	return en, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
