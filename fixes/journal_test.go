package fixes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The journal lives only where nobody else may write: a directory owned
// by another user, or writable by others, is refused, and so is an entry
// that is not this user's (undo runs what an entry says).
func TestJournalRefusesWhatIsNotOurs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	e := testEngine(t)
	if err := os.MkdirAll(e.JournalDir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(e.JournalDir, 0o777)
	if _, err := e.lock(); err == nil || !strings.Contains(err.Error(), "not writable by others") {
		t.Fatalf("a world-writable journal: got %v, want a refusal", err)
	}
	os.Chmod(e.JournalDir, 0o700)
	os.Chown(e.JournalDir, 65534, 65534)
	if _, err := e.lock(); err == nil || !strings.Contains(err.Error(), "must be yours") {
		t.Fatalf("another user's journal: got %v, want a refusal", err)
	}
	os.Chown(e.JournalDir, 0, 0)

	en := &Entry{ID: newJournalID(time.Now()), Fix: Fix{ID: "x:y:z"}, When: time.Now(), UndoCommands: [][]string{{"touch", "/tmp/pwned"}}}
	if err := e.save(en); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(e.JournalDir, en.ID+".json"), 65534, 65534) // planted by another user
	if _, err := e.Undo(context.Background(), en.ID); err == nil || !strings.Contains(err.Error(), "not to you") {
		t.Fatalf("undo of another user's entry: got %v, want a refusal", err)
	}
	if _, err := e.Undo(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "nothing to undo") {
		t.Fatalf("bare undo with only a foreign entry: got %v", err)
	}
	if p := e.JournalProblems(); len(p) != 1 || !strings.Contains(p[0], "not to you") {
		t.Fatalf("undo --list's refused entries: %q", p)
	}
}

// Without NGXDOCTOR_STATE_DIR, root's journal is /var/lib/ngxdoctor; with
// it, the directory named. The tests run with it (TestMain), so none of
// them writes to the machine's.
func TestStateDirIsInjectable(t *testing.T) {
	t.Setenv(StateDirEnv, "/srv/state")
	if got := StateDir(); got != "/srv/state/journal" {
		t.Fatalf("got %s", got)
	}
	if got := Default().JournalDir; got != "/srv/state/journal" {
		t.Fatalf("Default() journals in %s", got)
	}
	t.Setenv(StateDirEnv, "")
	if os.Geteuid() == 0 {
		if got := StateDir(); got != "/var/lib/ngxdoctor/journal" {
			t.Fatalf("root: got %s", got)
		}
	} else if got := StateDir(); strings.HasPrefix(got, os.TempDir()) {
		t.Fatalf("a journal in a shared temp dir: %s", got)
	}
	e := testEngine(t)
	e.JournalDir = ""
	if _, err := e.lock(); err == nil || !strings.Contains(err.Error(), StateDirEnv) {
		t.Fatalf("no journal place: got %v, want a refusal naming %s", err, StateDirEnv)
	}
}

// Bare undo takes this user's last fix, not another user's later one.
func TestBareUndoTakesThisUsersLastFix(t *testing.T) {
	e := testEngine(t)
	me := invokingUser()
	mine := &Entry{ID: newJournalID(time.Now()), Fix: Fix{ID: "mine"}, When: time.Now(), User: me}
	theirs := &Entry{ID: newJournalID(time.Now().Add(time.Second)), Fix: Fix{ID: "theirs"}, When: time.Now().Add(time.Second), User: me + "-other"}
	e.save(mine)
	e.save(theirs)
	en, err := e.Last()
	if err != nil || en.ID != mine.ID {
		t.Fatalf("got %s %v, want this user's %s", en.ID, err, mine.ID)
	}
}
