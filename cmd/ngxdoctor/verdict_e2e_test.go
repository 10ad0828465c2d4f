package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := failingLab(ctx, t, "config-not-loaded")
	defer l.Close()
	x, exitFile := wizardInTmux(t, binary(t), l.Config, "ngxdoctor-e2e-reload")

	x.waitFor("not reloaded", 30*time.Second)
	x.run("send-keys", "-t", "e2e", "f")
	s := x.waitFor("kill -HUP", 10*time.Second)
	if !strings.Contains(s, "Reload nginx") {
		t.Errorf("the preview should say it reloads nginx:\n%s", s)
	}
	x.applyAndQuit(ctx, l, exitFile)
}
