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

// TestWizardReloadsConfigNotLoadedInTmux: the file was fixed but nginx not
// reloaded (real nginx on loopback). The wizard names config-not-loaded,
// f previews the signal to the master, y reloads, nginx answers 200, and
// the checks run again find nothing (no reload offered after the reload).
func TestWizardReloadsConfigNotLoadedInTmux(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx workers as www-data: root is needed")
	_, err := exec.LookPath("tmux")
	labtest.Need(t, err == nil, "tmux is not installed (scripts/test.sh installs it)")
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, _ := lab.Find("config-not-loaded")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 3)
	if st, _ := l.Get(ctx, l.Path); st != 502 {
		t.Fatalf("before the fix nginx answers %d, want 502", st)
	}

	x := tmux{t: t, socket: fmt.Sprintf("ngxdoctor-e2e-reload-%d", os.Getpid())}
	defer x.run("kill-server")
	exitFile := filepath.Join(t.TempDir(), "exit")
	state := t.TempDir()
	cmdline := fmt.Sprintf("NGXDOCTOR_STATE_DIR=%s %s -c %s; echo $? > %s", state, bin, l.Config, exitFile)
	x.run("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", "sh", "-c", cmdline)

	x.waitFor("not reloaded", 30*time.Second)
	x.run("send-keys", "-t", "e2e", "f")
	s := x.waitFor("kill -HUP", 10*time.Second)
	if !strings.Contains(s, "Reload nginx") {
		t.Errorf("the preview should say it reloads nginx:\n%s", s)
	}
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
	deadline = time.Now().Add(10 * time.Second)
	for strings.Contains(x.screen(), "esc close") {
		if time.Now().After(deadline) {
			t.Fatalf("the dialog did not close on Escape; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.waitFor("No cause found", 30*time.Second)
	x.run("send-keys", "-t", "e2e", "q")
	deadline = time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(exitFile); err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "0" {
				t.Errorf("wizard exit code: got %s, want 0", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wizard did not exit after q; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
