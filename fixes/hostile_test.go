package fixes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// includedTimeout is a real nginx whose failing location (a 504: the
// backend takes 1.5 s, proxy_read_timeout is 1 s) lives in an included
// file, with the outcome the diagnosis would give and the timeout fix.
type includedTimeout struct {
	l    *nginxLab
	site string
	o    *checks.Outcome
	c    checks.Cause
}

func startIncludedTimeout(t *testing.T, incOwner int) *includedTimeout {
	t.Helper()
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprintln(w, "slow")
	})
	dir := worldDir(t)
	inc := filepath.Join(dir, "inc")
	os.Mkdir(inc, 0o755)
	site := filepath.Join(inc, "app.conf")
	os.WriteFile(site, []byte("location /app/ { proxy_pass http://"+addr+"; proxy_read_timeout 1s; }\n"), 0o644)
	if incOwner >= 0 {
		// A directory a non-root user owns, as a deploy user's include dir.
		os.Chown(inc, incOwner, incOwner)
		os.Chown(site, incOwner, incOwner)
	}
	l := startNginx(t, dir, "    server {\n        listen 127.0.0.1:{{PORT}};\n        include "+inc+"/*.conf;\n    }\n")
	l.wantStatus("/app/", 504)
	at := site + ":1"
	c := checks.Cause{ID: checks.CauseUpstreamTimeout, Target: addr, Facts: checks.Facts{
		Setting: "proxy_read_timeout", SettingAt: at, Took: 1500 * time.Millisecond, LocationAt: at, PassAt: at,
	}}
	pass := nginx.Pass{Directive: "proxy_pass", Value: "http://" + addr, At: nginx.Pos{File: site, Line: 1},
		Server: 0, Location: "/app/", Module: "proxy", Scheme: "http", Address: addr,
		Settings: nginx.Settings{"proxy_read_timeout": {{Name: "proxy_read_timeout", Args: []string{"1s"}, At: nginx.Pos{File: site, Line: 1}}}}}
	o := l.outcome([]nginx.Pass{pass}, c)
	o.Snapshot.Config.Files = append(o.Snapshot.Config.Files, site)
	return &includedTimeout{l: l, site: site, o: o, c: c}
}

// A user who owns the include directory swaps the fixed file for a
// symlink before undo: undo refuses, writes nothing through the link,
// reloads nothing.
func TestUndoRefusesASymlinkSwappedIn(t *testing.T) {
	needRoot(t)
	it := startIncludedTimeout(t, 65534)
	e := testEngine(t)
	f := fixByKind(t, e.For(it.o, it.c), "timeout")
	a := apply(t, e, it.o, f)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("root's file\n"), 0o600)
	os.Remove(it.site)
	if err := os.Symlink(victim, it.site); err != nil {
		t.Fatal(err)
	}
	workers := children(it.l.Master)
	u, err := e.Undo(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("undo through a symlink: got %v, want a refusal\n%s", err, strings.Join(u.Log, "\n"))
	}
	if got := readFile(t, victim); got != "root's file\n" {
		t.Fatalf("the link's target was written: %q", got)
	}
	if fi, err := os.Lstat(it.site); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if now := children(it.l.Master); fmt.Sprint(now) != fmt.Sprint(workers) {
		t.Fatalf("a refused undo reloaded nginx: workers %v became %v", workers, now)
	}
}

// A file edited by hand after the fix: undo refuses, changes nothing and
// does not reload; the hand edit stays.
func TestRefusedUndoChangesNothing(t *testing.T) {
	needRoot(t)
	it := startIncludedTimeout(t, -1)
	e := testEngine(t)
	f := fixByKind(t, e.For(it.o, it.c), "timeout")
	if a := apply(t, e, it.o, f); !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	hand := strings.Replace(readFile(t, it.site), "location /app/ {", "location /app/ { add_header X-Hand 1;", 1)
	os.WriteFile(it.site, []byte(hand), 0o644)
	workers := children(it.l.Master)
	for range 2 { // and on every retry
		if _, err := e.Undo(context.Background(), ""); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "nothing was changed or reloaded") {
			t.Fatalf("got %v, want a refusal that changed nothing", err)
		}
	}
	if readFile(t, it.site) != hand {
		t.Fatal("the hand edit was overwritten")
	}
	time.Sleep(100 * time.Millisecond)
	if now := children(it.l.Master); fmt.Sprint(now) != fmt.Sprint(workers) {
		t.Fatalf("a refused undo reloaded nginx: workers %v became %v", workers, now)
	}
}

// tmpfsJournal mounts a small tmpfs in the test's temp dir for the journal
// (unmounted after) and returns it with a function that fills it up.
func tmpfsJournal(t *testing.T) (string, func()) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	os.Mkdir(dir, 0o700)
	err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700")
	labtest.Need(t, err == nil, fmt.Sprintf("mounting a small tmpfs for a full journal disk: %v", err))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	fill := func() {
		f, err := os.Create(filepath.Join(dir, "filler"))
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, 4096)
		for {
			if _, err := f.Write(buf); err != nil {
				return
			}
		}
	}
	return dir, fill
}

// A full journal disk before the change stops the fix: nothing changes.
func TestFullJournalBeforeTheChange(t *testing.T) {
	needRoot(t)
	it := startIncludedTimeout(t, -1)
	dir, fill := tmpfsJournal(t)
	e := testEngine(t)
	e.JournalDir = filepath.Join(dir, "journal")
	before := readFile(t, it.site)
	f := fixByKind(t, e.For(it.o, it.c), "timeout")
	fill()
	a, err := e.Apply(context.Background(), it.o, f, Options{})
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("got %v, want the fix stopped before the change\n%s", err, strings.Join(a.Log, "\n"))
	}
	if readFile(t, it.site) != before {
		t.Fatal("the config changed although the journal could not record it")
	}
	it.l.wantStatus("/app/", 504)
}

// A journal disk that fills once the change is made: the fix stays (its
// entry from before the change can undo it), and the error spells out
// every undo step.
func TestFullJournalAfterTheChange(t *testing.T) {
	needRoot(t)
	it := startIncludedTimeout(t, -1)
	dir, fill := tmpfsJournal(t)
	e := testEngine(t)
	e.JournalDir = filepath.Join(dir, "journal")
	before := readFile(t, it.site)
	f := fixByKind(t, e.For(it.o, it.c), "timeout")
	a, err := e.Apply(context.Background(), it.o, f, Options{Progress: func(s string) {
		if strings.HasPrefix(s, "wrote ") {
			fill()
		}
	}})
	var je *JournalError
	if !errors.As(err, &je) {
		t.Fatalf("got %v, want a JournalError\n%s", err, strings.Join(a.Log, "\n"))
	}
	msg := err.Error()
	for _, want := range []string{"the fix is applied", "cp -- " + filepath.Join(e.JournalDir, je.ID), it.site, "nginx -t -q -c " + it.l.Conf, "kill -HUP"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("the report lacks %q:\n%s", want, msg)
		}
	}
	it.l.wantStatus("/app/", 200)
	os.Remove(filepath.Join(dir, "filler"))
	undo(t, e, "")
	if readFile(t, it.site) != before {
		t.Fatal("undo did not restore the file")
	}
	it.l.wantStatus("/app/", 504)
}
