package fixes

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestPlanMaxChildren plans the fix from a pool file on disk: the new
// pm.max_children covers the worst second of refusals, and the live
// socket's queue is raised only where the pool file sets a small one.
func TestPlanMaxChildren(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pool      string
		children  int
		backlog   int
		peak      int
		warned    int    // php-fpm's max_children warnings
		want      string // in the diff ("" when no fix)
		wantQueue bool
	}{
		{"small backlog", "listen.backlog = 1\npm = ondemand\npm.max_children = 1\n", 1, 1, 6, 3, "+pm.max_children = 9", true},
		{"burst beyond doubling", "pm = dynamic\npm.max_children = 5\n", 5, 0, 14, 3, "+pm.max_children = 19", false},
		{"default backlog", "listen.backlog = 511\npm = static\npm.max_children = 20\n", 20, 511, 3, 0, "+pm.max_children = 40", false},
		{"dynamic without php-fpm's warning", "pm = dynamic\npm.max_children = 5\n", 5, 0, 4, 0, "", false},
		{"static without refusals", "pm = static\npm.max_children = 5\n", 5, 0, 0, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "www.conf")
			text := "[www]\nlisten = /run/php/php8.2-fpm.sock\n" + tc.pool
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			line := func(key string) int {
				for i, l := range strings.Split(text, "\n") {
					if strings.HasPrefix(l, key+" ") {
						return i + 1
					}
				}
				return 0
			}
			pool := host.Pool{Name: "www", File: file, Line: 1, Listen: "/run/php/php8.2-fpm.sock", MaxChildren: tc.children,
				MaxChildrenLine: line("pm.max_children"), ListenBacklog: tc.backlog, ListenBacklogLine: line("listen.backlog"), MaxChildrenReached: tc.warned}
			for _, l := range strings.Split(tc.pool, "\n") {
				if v, ok := strings.CutPrefix(l, "pm = "); ok {
					pool.PM = v
				}
			}
			c := checks.Cause{ID: checks.CauseBackendOverloaded, Target: "unix:/run/php/php8.2-fpm.sock",
				Facts: checks.Facts{PHPFPM: &checks.PoolFacts{Pool: pool, Master: 812, Binary: "/usr/sbin/php-fpm8.2",
					MasterConfig: "/etc/php/8.2/fpm/php-fpm.conf", PeakRefused: tc.peak}}}
			fs := testEngine(t).For(&checks.Outcome{}, c)
			if tc.want == "" {
				for _, f := range fs {
					if strings.HasSuffix(baseID(f.ID), ":max-children") {
						t.Fatalf("offered %q without php-fpm's warning or nginx's refusals", f.Title)
					}
				}
				return
			}
			f := fixByKind(t, fs, "max-children")
			if !strings.Contains(f.Diff, tc.want) {
				t.Errorf("diff:\n%s\nwant a line %q", f.Diff, tc.want)
			}
			queued := strings.Contains(f.Title, "listen(2)")
			if queued != tc.wantQueue {
				t.Errorf("title %q: raises the live queue %v, want %v", f.Title, queued, tc.wantQueue)
			}
			if tc.wantQueue && !strings.Contains(f.Diff, "+listen.backlog = 511") {
				t.Errorf("diff:\n%s\nwant listen.backlog raised in the file too", f.Diff)
			}
			if got := f.Commands[len(f.Commands)-1]; strings.Join(got, " ") != "kill -USR2 812" {
				t.Errorf("last command %q, want the reload of master 812", got)
			}
		})
	}
}

// TestSetListenQueue raises and restores the accept queue of a real
// listening unix socket of this very process, as the fix does to
// php-fpm's, and reads the result from the kernel's listener table.
func TestSetListenQueue(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "q.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	q := listenQueue{PID: os.Getpid(), Name: filepath.Base(self), Listen: sock, From: 1, To: 7}
	ctx := context.Background()
	for _, n := range []int{q.From, q.To} {
		err := setListenQueue(ctx, q, n)
		// Only a kernel without pidfd_getfd (ENOSYS) or rights to use it
		// (EPERM) excuses the test; any other error is the code's.
		labtest.Need(t, !noBorrow(err), fmt.Sprintf("pidfd_getfd (Linux 5.6) on this process: %v", err))
		if err != nil {
			t.Fatalf("listen(2) with %d: %v", n, err)
		}
		if got := backlogOf(t, sock); got != n {
			t.Errorf("after listen(2) with %d: the listener table says backlog %d", n, got)
		}
	}
	if err := setListenQueue(ctx, listenQueue{PID: os.Getpid(), Name: q.Name, Listen: sock + ".other"}, 5); err == nil {
		t.Errorf("a path the process does not listen at was accepted")
	}
	if err := setListenQueue(ctx, listenQueue{PID: os.Getpid(), Name: "php-fpm", Listen: sock}, 5); err == nil {
		t.Errorf("a process that is not php-fpm was accepted as php-fpm")
	}
}

func backlogOf(t *testing.T, path string) int {
	t.Helper()
	ls, err := host.Live().Listeners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Address == path {
			return l.Backlog
		}
	}
	t.Fatalf("%s not in the listener table", path)
	return 0
}
