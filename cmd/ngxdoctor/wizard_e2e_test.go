package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// These drive the real binary in tmux at 80x24 against a real nginx that
// the lab starts on loopback, as an on-call engineer would.

func needTmux(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("tmux")
	labtest.Need(t, err == nil, "tmux is not installed (scripts/test.sh installs it)")
}

// TestWizardIncidentReportInTmux: fix → the outcome on top of the screen
// → e → the report holds the incident before, the action with its undo,
// and after.
func TestWizardIncidentReportInTmux(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs php-fpm and nginx workers as www-data: root is needed")
	needTmux(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, _ := lab.Find("socket-permission")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 3)

	x := tmux{t: t, socket: fmt.Sprintf("ngxdoctor-report-%d", os.Getpid())}
	defer x.run("kill-server")
	work, state := t.TempDir(), t.TempDir()
	cmdline := fmt.Sprintf("cd %s && NGXDOCTOR_STATE_DIR=%s %s -c %s", work, state, bin, l.Config)
	x.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "sh", "-c", cmdline)

	x.waitFor("may not connect", 30*time.Second)
	x.run("send-keys", "-t", "e2e", "f")
	x.waitFor("chmod", 10*time.Second)
	x.run("send-keys", "-t", "e2e", "y")
	x.waitFor("applied and verified", 30*time.Second)
	s := x.waitFor("checks ran again after the fix", 30*time.Second)
	// The top of the screen says what changed, the failing request asked
	// again with its answer now, the verdict after the rerun, the undo.
	top := strings.Join(strings.Split(s, "\n")[:9], "\n")
	at := 0
	for _, want := range []string{"✓ applied and verified", "changed: ran chown ", "verified: GET ", ": 502 → 200",
		"now: No cause found", "undo: ngxdoctor undo "} {
		i := strings.Index(top[at:], want)
		if i < 0 {
			t.Fatalf("the top of the screen lacks %q (in this order):\n%s", want, s)
		}
		at += i + len(want)
	}
	x.run("send-keys", "-t", "e2e", "e")
	s = x.waitFor("report written", 10*time.Second)
	m := regexp.MustCompile(`report written: (\S+)`).FindStringSubmatch(strings.ReplaceAll(s, "\n", ""))
	if m == nil {
		t.Fatalf("no report path on screen:\n%s", s)
	}
	matches, _ := filepath.Glob(filepath.Join(work, "ngxdoctor-report-*.md"))
	if len(matches) != 1 {
		t.Fatalf("reports in %s: %v, want one", work, matches)
	}
	body, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	md := string(body)
	for _, want := range []string{
		"# nginx incident report", "## Before", "socket-permission", "(13: Permission denied)",
		"## Actions", "chmod 0660", "- **Changed:** ran `chmod 0660 ", "- **Verified by:** GET ", ": 502 → 200",
		"- **Now:** No cause found", "ngxdoctor undo ", "## After", "| request through nginx | before | after |", "verify: ", "**OK.**",
		"## Timeline", "## Host and versions", l.Config,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	x.run("send-keys", "-t", "e2e", "q")
}

// TestWizardFilterFindsOneBackendAmong200InTmux: 200 servers in 60
// upstreams, 180 stopped; the screen groups them and / finds one.
func TestWizardFilterFindsOneBackendAmong200InTmux(t *testing.T) {
	needTmux(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.Start(ctx, lab.ManyBackends(60, 200, 180))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, p := range []string{"/api00/", "/api07/", "/api42/"} {
		_, _ = l.Get(ctx, p)
	}
	x := tmux{t: t, socket: fmt.Sprintf("ngxdoctor-many-%d", os.Getpid())}
	defer x.run("kill-server")
	x.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "sh", "-c",
		fmt.Sprintf("NGXDOCTOR_STATE_DIR=%s %s -c %s --read-only", t.TempDir(), bin, l.Config))
	// Under load (the other e2e tests run at once) the first verdict may
	// take a while: 200 probes and 180 error-log lines.
	s := x.waitFor("backend-down: 180 of 200 servers in 60 upstreams", 90*time.Second)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 24 {
		t.Fatalf("the screen has %d lines at 80x24", len(lines))
	}
	one := l.Backends[137] // a stopped one
	x.run("send-keys", "-t", "e2e", "/")
	x.run("send-keys", "-t", "e2e", "-l", one)
	x.run("send-keys", "-t", "e2e", "Enter")
	s = x.waitFor("Cause: backend-down on "+one, 10*time.Second)
	if !strings.Contains(s, "filter") {
		t.Errorf("the filter is not named on screen:\n%s", s)
	}
	for _, other := range []string{l.Backends[0], l.Backends[1]} {
		if strings.Contains(s, other+" ") || strings.HasSuffix(strings.TrimSpace(s), other) {
			t.Errorf("the filter for %s still shows %s:\n%s", one, other, s)
		}
	}
	x.run("send-keys", "-t", "e2e", "q")
}

// TestWizardDumbTerminalPrintsTheReport: TERM=dumb gets the text report,
// not the full screen.
func TestWizardDumbTerminalPrintsTheReport(t *testing.T) {
	needTmux(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc, _ := lab.Find("backend-down")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 2)
	x := tmux{t: t, socket: fmt.Sprintf("ngxdoctor-dumb-%d", os.Getpid())}
	defer x.run("kill-server")
	done := filepath.Join(t.TempDir(), "done")
	x.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "120", "sh", "-c",
		fmt.Sprintf("TERM=dumb NGXDOCTOR_STATE_DIR=%s %s -c %s; echo $? > %s; sleep 30", t.TempDir(), bin, l.Config, done))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(done); err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "1" {
				t.Errorf("exit code %s, want 1 (a cause found)", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TERM=dumb did not finish; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := x.screen()
	for _, want := range []string{"ngxdoctor: ", "The ten steps", "backend-down"} {
		if !strings.Contains(s, want) {
			t.Errorf("TERM=dumb output lacks %q:\n%s", want, s)
		}
	}
}

// TestWizardShowsStepsBeforeTheProbesInTmux: a real nginx whose backend
// is black-holed (iptables DROP on loopback, removed by the lab). Its
// probe hangs until the deadline; meanwhile the screen must already show
// the config step's mark, while it still says it waits for the probe and
// the step that reads it says so too. Then the verdict comes. Only what
// the screens showed, in order, is asserted.
func TestWizardShowsStepsBeforeTheProbesInTmux(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the DROP rule needs CAP_NET_ADMIN and the lab runs workers as www-data: root is needed")
	needTmux(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, _ := lab.Find("firewall-blocked-drop")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 2)

	x := tmux{t: t, socket: fmt.Sprintf("ngxdoctor-early-%d", os.Getpid())}
	defer x.run("kill-server")
	// A long probe deadline: the screens before it are what is looked at.
	x.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "sh", "-c",
		fmt.Sprintf("NGXDOCTOR_STATE_DIR=%s %s -c %s --read-only --timeout 20s", t.TempDir(), bin, l.Config))
	configDone := regexp.MustCompile(`[✓!✗–?]\s+2 Upstream configuration`)
	deadline := time.Now().Add(60 * time.Second)
	var s string
	for {
		s = x.screen()
		if strings.Contains(s, "firewall-blocked") || strings.Contains(s, "No cause found") || strings.Contains(s, "Could not diagnose") {
			t.Fatalf("the verdict came before a screen showed the config step while the probe was awaited:\n%s", s)
		}
		if configDone.MatchString(s) && strings.Contains(s, "waiting for 1 of 1 probes") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no screen showed step 2 done while waiting for the probe; last screen:\n%s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fits(t, s, 80, 24)
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, " 1 Backend status") && !strings.Contains(l, "waiting for 1 of 1 probes") {
			t.Errorf("step 1 reads the probe and should say it waits for it: %q\n%s", l, s)
		}
	}
	x.waitFor("firewall-blocked", 60*time.Second)
	x.run("send-keys", "-t", "e2e", "q")
}

// fits fails when the screen is taller or wider than the terminal.
func fits(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > h {
		t.Errorf("the screen has %d lines at %dx%d", len(lines), w, h)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > w {
			t.Errorf("a line is %d columns wide at %dx%d: %q", n, w, h, l)
		}
	}
}
