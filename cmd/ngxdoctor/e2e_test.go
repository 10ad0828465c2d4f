package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// tmux drives one terminal session on a private tmux server.
type tmux struct {
	t      *testing.T
	socket string
}

func (x tmux) run(args ...string) string {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	if err != nil && args[0] != "kill-server" {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x tmux) screen() string { return x.run("capture-pane", "-p", "-t", "e2e") }

// waitFor polls the screen until it shows want, or fails with what it showed.
func (x tmux) waitFor(want string, limit time.Duration) string {
	x.t.Helper()
	deadline := time.Now().Add(limit)
	var s string
	for time.Now().Before(deadline) {
		if s = x.screen(); strings.Contains(s, want) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.t.Fatalf("screen never showed %q; last screen:\n%s", want, s)
	return ""
}

// TestWizardFixesSocketInTmux is the on-call path end to end: the real
// binary in a real terminal, a real nginx whose php-fpm socket refuses the
// workers; the verdict names it, f previews the fix, y applies it, nginx
// answers 200, q quits.
func TestWizardFixesSocketInTmux(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs php-fpm and nginx workers as www-data: root is needed")
	_, err := exec.LookPath("tmux")
	labtest.Need(t, err == nil, "tmux is not installed (scripts/test.sh installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := failingLab(ctx, t, "socket-permission")
	defer l.Close()
	x, exitFile := wizardInTmux(t, binary(t), l.Config, "ngxdoctor-e2e")

	x.waitFor("socket-permission", 20*time.Second)
	s := x.waitFor("may not connect", 20*time.Second)
	if !strings.Contains(s, "www-data") {
		t.Errorf("verdict should name the worker user:\n%s", s)
	}
	x.run("send-keys", "-t", "e2e", "f")
	s = x.waitFor("chmod", 10*time.Second)
	if !strings.Contains(s, "php-fpm.sock") {
		t.Errorf("the preview should show the command on the socket:\n%s", s)
	}
	x.applyAndQuit(ctx, l, exitFile)
}

// TestWizardOffersDemoWithoutNginx: on a machine with no nginx (a replayed
// empty host), the bare command says so and offers the demo; y starts it.
func TestWizardOffersDemoWithoutNginx(t *testing.T) {
	_, err := exec.LookPath("tmux")
	labtest.Need(t, err == nil, "tmux is not installed (scripts/test.sh installs it)")
	bin := binary(t)
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte(`{"euid": 1000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	x := tmux{t: t, socket: fmt.Sprintf("ngxdoctor-nonginx-%d", os.Getpid())}
	defer x.run("kill-server")
	x.run("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", bin, "--replay", empty)
	x.waitFor("No nginx was found", 10*time.Second)
	x.waitFor("Run the built-in demo", 5*time.Second)
	x.run("send-keys", "-t", "e2e", "y", "Enter")
	s := x.waitFor("DEMO", 10*time.Second)
	x.waitFor("may not connect", 10*time.Second)
	_ = s
	x.run("send-keys", "-t", "e2e", "q")
}

// failingLab starts a lab scenario and waits until nginx answers 502 for it,
// as users see it.
func failingLab(ctx context.Context, t *testing.T, name string) *lab.Lab {
	t.Helper()
	sc, _ := lab.Find(name)
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	l.Trigger(ctx, 3)
	if st, _ := l.Get(ctx, l.Path); st != 502 {
		l.Close()
		t.Fatalf("before the fix nginx answers %d, want 502", st)
	}
	return l
}

// wizardInTmux runs the wizard on config in a 100x30 tmux server of its own,
// with a journal in a temp dir; it returns the file its exit code goes to.
func wizardInTmux(t *testing.T, bin, config, name string) (tmux, string) {
	t.Helper()
	x := tmux{t: t, socket: fmt.Sprintf("%s-%d", name, os.Getpid())}
	t.Cleanup(func() { x.run("kill-server") })
	exitFile := filepath.Join(t.TempDir(), "exit")
	cmdline := fmt.Sprintf("NGXDOCTOR_STATE_DIR=%s %s -c %s; echo $? > %s", t.TempDir(), bin, config, exitFile)
	x.run("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", "sh", "-c", cmdline)
	return x, exitFile
}

// applyAndQuit presses y in the open fix dialog and follows the fix as a
// user would: applied, nginx answering 200, the rerun's verdict "No cause
// found", then q and exit code 0.
func (x tmux) applyAndQuit(ctx context.Context, l *lab.Lab, exitFile string) {
	t := x.t
	t.Helper()
	x.run("send-keys", "-t", "e2e", "y")
	x.waitFor("applied", 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _ := l.Get(ctx, l.Path); st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx still does not answer 200 after y; screen:\n%s", x.screen())
		}
		time.Sleep(200 * time.Millisecond)
	}
	x.run("send-keys", "-t", "e2e", "Escape")
	// An Escape followed at once by q reads as alt+q: wait for the dialog to close.
	deadline = time.Now().Add(10 * time.Second)
	for strings.Contains(x.screen(), "esc close") {
		if time.Now().After(deadline) {
			t.Fatalf("the dialog did not close on Escape; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// After the fix the checks run again: the verdict must say the 502 is gone.
	x.waitFor("No cause found", 30*time.Second)
	x.run("send-keys", "-t", "e2e", "q")
	deadline = time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(exitFile); err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "0" {
				t.Errorf("wizard exit code: got %s, want 0", code)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wizard did not exit after q; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
