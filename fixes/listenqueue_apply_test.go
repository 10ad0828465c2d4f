package fixes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/lab"
)

// overloadedPool starts the lab's real php-fpm pool at its limit (1 child,
// listen.backlog 1) behind a real nginx, diagnoses it and plans the
// max-children fix.
func overloadedPool(ctx context.Context, t *testing.T) (*lab.Lab, *checks.Outcome, Fix, string) {
	t.Helper()
	needRoot(t, phpFPM)
	s, _ := lab.Find("backend-overloaded-fpm")
	l, err := lab.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	l.Trigger(ctx, 4)
	if !l.PoolAtLimit(ctx) {
		t.Fatalf("php-fpm never logged that pool [lab] reached pm.max_children")
	}
	o, cause := diagnosed(ctx, t, l, checks.CauseBackendOverloaded)
	f := fixByKind(t, testEngine(t).For(o, cause), "max-children")
	if !strings.Contains(f.Title, "listen(2)") {
		t.Fatalf("the fix %q does not raise the live queue", f.Title)
	}
	sock := strings.TrimPrefix(l.Backends[0], "unix:")
	if got := backlogOf(t, sock); got != 1 {
		t.Fatalf("php-fpm's socket has backlog %d before the fix, want the pool's 1", got)
	}
	return l, o, f, sock
}

// TestListenQueueRolledBackWhenItsCheckFails: listen(2) on php-fpm's real
// socket takes, then the check after it fails (as when the listener table
// showed another backlog). The fix is rolled back, and the rollback must
// give the socket its queue of 1 back: the journal holds the queue before
// listen(2) is called, not only after it succeeded.
func TestListenQueueRolledBackWhenItsCheckFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	l, o, f, sock := overloadedPool(ctx, t)
	pool := readFile(t, l.PHPFPM)
	e := testEngine(t)
	raised := false
	e.listenQueue = func(ctx context.Context, q listenQueue, n int) error {
		if err := setListenQueue(ctx, q, n); err != nil || n == q.From {
			return err
		}
		raised = true
		return errors.New("listen queue: the listener table shows another backlog (made up by the test)")
	}
	a, err := e.Apply(ctx, o, f, Options{Progress: func(s string) { t.Log(s) }})
	if err == nil || !a.RolledBack {
		t.Fatalf("apply: err %v, rolled back %v: want the failed check to roll the fix back", err, a.RolledBack)
	}
	if !raised {
		t.Fatalf("listen(2) was never called with the raised queue")
	}
	if got := backlogOf(t, sock); got != 1 {
		t.Errorf("after the rollback php-fpm's socket has backlog %d, want its 1 back\n%s", got, strings.Join(a.Log, "\n"))
	}
	if readFile(t, l.PHPFPM) != pool {
		t.Errorf("the pool file is not restored after the rollback")
	}
}

// TestListenQueueNoBorrow: a kernel without pidfd_getfd (before 5.6:
// ENOSYS) or without the right to borrow php-fpm's socket (EPERM). This
// kernel has both, so the test makes the call fail as such a kernel's
// would, before any listen(2). The pm.max_children edit and php-fpm's
// reload stand; the queue waits for a restart, and the log says so.
func TestListenQueueNoBorrow(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM} {
		t.Run(errno.Error(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			l, o, f, sock := overloadedPool(ctx, t)
			e := testEngine(t)
			e.listenQueue = func(ctx context.Context, q listenQueue, n int) error {
				return fmt.Errorf("listen queue: pidfd_getfd 7 of pid %d: %w", q.PID, errno)
			}
			a, err := e.Apply(ctx, o, f, Options{Progress: func(s string) { t.Log(s) }})
			log := strings.Join(a.Log, "\n")
			if a.RolledBack {
				t.Fatalf("rolled back (err %v): the pm.max_children change works without the queue\n%s", err, log)
			}
			if !strings.Contains(readFile(t, l.PHPFPM), "pm.max_children = 9") {
				t.Errorf("the pool file lost its new pm.max_children:\n%s", readFile(t, l.PHPFPM))
			}
			if !strings.Contains(log, "takes effect at the next php-fpm restart") {
				t.Errorf("the log does not say the queue waits for a restart:\n%s", log)
			}
			if got := backlogOf(t, sock); got != 1 {
				t.Errorf("backlog %d: nothing raised the queue, yet it changed", got)
			}
			en := journalEntry(t, e)
			if en.ListenQueue != nil {
				t.Errorf("the journal says the queue was raised (%+v): undo would call listen(2) for nothing", *en.ListenQueue)
			}
			undo(t, e, "")
		})
	}
}

func journalEntry(t *testing.T, e *Engine) *Entry {
	t.Helper()
	ens, err := e.Journal()
	if err != nil || len(ens) == 0 {
		t.Fatalf("journal: %v, %d entries", err, len(ens))
	}
	return &ens[len(ens)-1]
}
