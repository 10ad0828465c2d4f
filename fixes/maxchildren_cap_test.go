package fixes

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// maxChildrenFix plans the max-children fix for a pool file with the given
// children and listen.backlog (0: no line), and nginx's worst second of
// refusals.
func maxChildrenFix(t *testing.T, e *Engine, children, backlog, peak int) Fix {
	t.Helper()
	fs := maxChildrenFixes(t, e, &checks.Outcome{}, children, backlog, peak)
	return fixByKind(t, fs, "max-children")
}

func maxChildrenFixes(t *testing.T, e *Engine, o *checks.Outcome, children, backlog, peak int) []Fix {
	t.Helper()
	file := filepath.Join(t.TempDir(), "www.conf")
	text := "[www]\nlisten = /run/php/php8.2-fpm.sock\npm = dynamic\npm.max_children = " + itoa(children) + "\n"
	pool := host.Pool{Name: "www", File: file, Line: 1, Listen: "/run/php/php8.2-fpm.sock", PM: "dynamic",
		MaxChildren: children, MaxChildrenLine: 4, MaxChildrenReached: 3}
	if backlog > 0 {
		text += "listen.backlog = " + itoa(backlog) + "\n"
		pool.ListenBacklog, pool.ListenBacklogLine = backlog, 5
	}
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c := checks.Cause{ID: checks.CauseBackendOverloaded, Target: "unix:/run/php/php8.2-fpm.sock",
		Facts: checks.Facts{PHPFPM: &checks.PoolFacts{Pool: pool, Master: 812, Binary: "/usr/sbin/php-fpm8.2",
			MasterConfig: "/etc/php/8.2/fpm/php-fpm.conf", PeakRefused: peak}}}
	return e.For(o, c)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestMaxChildrenCapped: a flood's 3000 refusals in one second must not
// become 3005 children (the host runs out of memory under load); the raise
// stops at 4 times the pool and the preview says why. Where the queue is
// raised too, the burst waits in it: its refusals add no children.
func TestMaxChildrenCapped(t *testing.T) {
	e := testEngine(t)
	f := maxChildrenFix(t, e, 5, 0, 3000)
	if !strings.Contains(f.Diff, "+pm.max_children = 20") {
		t.Errorf("a flood of 3000: diff\n%s\nwant pm.max_children capped at 20", f.Diff)
	}
	if !strings.Contains(f.Warning, "refused 3000 times") || !strings.Contains(f.Warning, "stops at 20") {
		t.Errorf("warning %q does not say the cap applies", f.Warning)
	}
	f = maxChildrenFix(t, e, 4, 1, 10)
	if !strings.Contains(f.Diff, "+pm.max_children = 12") {
		t.Errorf("queue raised too: diff\n%s\nwant 12 (doubled, at least 8 more), not 14 for the burst that now queues", f.Diff)
	}
	if strings.Contains(f.Warning, "stops at") {
		t.Errorf("no cap applied, yet the warning says so: %q", f.Warning)
	}
}

// TestListenQueueClampedToSomaxconn: on a kernel whose net.core.somaxconn
// is 128, the live queue can only get 128; the preview says 128 and why.
func TestListenQueueClampedToSomaxconn(t *testing.T) {
	e := testEngine(t)
	e.ProcSys = t.TempDir()
	if err := os.MkdirAll(filepath.Join(e.ProcSys, "net/core"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.ProcSys, "net/core/somaxconn"), []byte("128\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := maxChildrenFix(t, e, 1, 1, 6)
	if !strings.Contains(f.Title, "from 1 to 128 in place") || !strings.Contains(f.Title, "net.core.somaxconn 128 caps it") {
		t.Errorf("title %q: want the live queue raised to the kernel's cap 128, said so", f.Title)
	}
	if !strings.Contains(f.Diff, "+listen.backlog = 511") {
		t.Errorf("diff\n%s\nwant the pool file's listen.backlog 511 (php-fpm's default) still", f.Diff)
	}
	// A kernel that allows no longer queue than the pool's: no listen(2),
	// the file's new backlog waits for a restart.
	if err := os.WriteFile(filepath.Join(e.ProcSys, "net/core/somaxconn"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f = maxChildrenFix(t, e, 1, 1, 6)
	if strings.Contains(f.Title, "listen(2)") {
		t.Errorf("title %q: listen(2) planned although somaxconn 1 allows no longer queue", f.Title)
	}
}

// TestMaxChildrenMemory: the raise stops where the host's available memory
// ends, at the size its children have now (the process table's RSS), and
// there is no fix when not one more child fits.
func TestMaxChildrenMemory(t *testing.T) {
	const mib = 1 << 20
	snap := func(avail uint64) *checks.Outcome {
		return &checks.Outcome{Snapshot: &checks.Snapshot{
			Resources: host.Resources{MemTotal: 4096 * mib, MemAvailable: avail},
			Processes: []host.Process{{PID: 812, Name: "php-fpm8.2"},
				{PID: 901, PPID: 812, Name: "php-fpm8.2", RSS: 90 * mib}, {PID: 902, PPID: 812, Name: "php-fpm8.2", RSS: 110 * mib}}}}
	}
	e := testEngine(t)
	f := fixByKind(t, maxChildrenFixes(t, e, snap(400*mib), 5, 0, 0), "max-children")
	if !strings.Contains(f.Diff, "+pm.max_children = 8") || !strings.Contains(f.Warning, "memory for 3 more children of about 100 MiB") {
		t.Errorf("400 MiB available, children of 100 MiB: diff\n%s\nwarning %q\nwant 5+3 = 8, said so", f.Diff, f.Warning)
	}
	f = fixByKind(t, maxChildrenFixes(t, e, snap(4000*mib), 5, 0, 0), "max-children")
	if !strings.Contains(f.Diff, "+pm.max_children = 13") || strings.Contains(f.Warning, "The raise stops") {
		t.Errorf("memory enough: diff\n%s\nwarning %q\nwant 13, no cap", f.Diff, f.Warning)
	}
	for _, fx := range maxChildrenFixes(t, e, snap(50*mib), 5, 0, 0) {
		if strings.HasSuffix(baseID(fx.ID), ":max-children") {
			t.Errorf("50 MiB available, children of 100 MiB: offered %q", fx.Title)
		}
	}
}
