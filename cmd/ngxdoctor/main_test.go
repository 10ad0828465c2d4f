package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// binary builds the real ngxdoctor once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ngxdoctor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type run struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin string, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return run{code, o.String(), e.String()}
}

func TestCheckNoNginx(t *testing.T) {
	bin := binary(t)
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte(`{"euid": 1000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, bin, nil, "check", "--replay", empty)
	if r.code != 2 {
		t.Fatalf("exit: got %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "--config") || r.stdout != "" {
		t.Errorf("want a message on stderr saying what to pass, nothing on stdout; got stderr %q stdout %q", r.stderr, r.stdout)
	}

	// A --config that cannot be read is named; no talk of where else was looked.
	r = runBin(t, bin, nil, "check", "-c", filepath.Join(t.TempDir(), "nginx.conf"))
	if r.code != 2 || !strings.Contains(r.stderr, "check the --config") || strings.Contains(r.stderr, "looked for") {
		t.Errorf("check -c missing: got exit %d stderr %q, want 2 and a hint about --config", r.code, r.stderr)
	}
}

func TestCheckBadFlags(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{
		{"check", "--since", "yesterday"},
		{"check", "--format", "yaml"},
		{"check", "--timeout", "-1s"},
		{"fix", "--replay", "recording.json", "some-fix-id"},
	} {
		r := runBin(t, bin, nil, args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%v: got exit %d stderr %q, want 2 and a message", args, r.code, r.stderr)
		}
		// The flag is named as it is typed (fang's handler once wrote --Since).
		if !strings.Contains(r.stderr, args[1]) {
			t.Errorf("%v: stderr %q does not name %s", args, r.stderr, args[1])
		}
	}
}

// TestCheckAgainstRealNginx runs the real binary on a healthy and a broken
// lab: exit codes, JSON contract, and text that fits 80 columns.
func TestCheckAgainstRealNginx(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx with www-data workers: root is needed")
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, tc := range []struct {
		scenario string
		code     int
		cause    string
	}{
		{"healthy", 0, ""},
		{"backend-down", 1, "backend-down"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			sc, _ := lab.Find(tc.scenario)
			l, err := lab.Start(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			l.Trigger(ctx, 3)

			r := runBin(t, bin, nil, "check", "-c", l.Config, "--format", "json")
			if r.code != tc.code {
				t.Fatalf("exit: got %d, want %d\n%s\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			var rep struct {
				Schema  string `json:"schema"`
				Verdict struct{ Status, Summary string }
				Causes  []struct {
					ID       string   `json:"id"`
					Target   string   `json:"target"`
					Evidence []string `json:"evidence"`
				}
				Steps   []struct{ Number int }
				Targets []struct {
					Address string
					Probe   struct{ Result string }
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("json: %v\n%s", err, r.stdout)
			}
			if rep.Schema != "ngxdoctor/report/v1" || len(rep.Steps) != 10 || len(rep.Targets) == 0 {
				t.Errorf("json contract: schema %q, %d steps, %d targets", rep.Schema, len(rep.Steps), len(rep.Targets))
			}
			if tc.cause == "" {
				if len(rep.Causes) != 0 || rep.Verdict.Status != "ok" {
					t.Errorf("healthy: got %+v", rep.Causes)
				}
			} else if len(rep.Causes) == 0 || rep.Causes[0].ID != tc.cause || len(rep.Causes[0].Evidence) == 0 {
				t.Errorf("got causes %+v, want %s first with evidence", rep.Causes, tc.cause)
			}

			txt := runBin(t, bin, []string{"NO_COLOR=1"}, "check", "-c", l.Config)
			if strings.Contains(txt.stdout, "\x1b[") {
				t.Errorf("NO_COLOR: text report has escape codes")
			}
			for _, line := range strings.Split(txt.stdout, "\n") {
				if w := len([]rune(line)); w > 80 {
					t.Errorf("text line is %d columns, want <= 80: %q", w, line)
				}
			}
			md := runBin(t, bin, nil, "check", "-c", l.Config, "--format", "markdown")
			if !strings.HasPrefix(md.stdout, "# nginx upstream diagnosis") {
				t.Errorf("markdown: got %.60q", md.stdout)
			}
		})
	}
}

// TestDemoWithoutTerminal: stdout to /dev/null (a character device, not a
// terminal) gets the text report, not a failed attempt to open a TTY.
func TestDemoWithoutTerminal(t *testing.T) {
	bin := binary(t)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd := exec.Command(bin, "demo")
	cmd.Stdout = devnull
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo > /dev/null: %v\n%s", err, stderr.String())
	}
	r := runBin(t, bin, nil, "demo")
	if !strings.Contains(r.stdout, "socket-permission") || r.code != 0 {
		t.Errorf("demo | cat: exit %d, want the text report naming socket-permission:\n%s", r.code, r.stdout)
	}
}

// TestCheckWithoutRoot runs the real binary as nobody against a broken
// nginx: what needs root is skipped with its reason, the rest still finds
// the cause.
func TestCheckWithoutRoot(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "switching to the nobody user needs root")
	bin := binary(t)
	// nobody must reach the binary through its temp directories.
	for d := filepath.Dir(bin); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc, _ := lab.Find("backend-down")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 3)

	cmd := exec.CommandContext(ctx, bin, "check", "-c", l.Config, "--format", "json")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/nonexistent"}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("as nobody: got %v, want exit 1 (a cause found)\nstdout: %s\nstderr: %s", err, o.String(), e.String())
	}
	var rep struct {
		Causes []struct{ ID string }
		Steps  []struct {
			Checks []struct{ ID, Status, Summary string }
		}
	}
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, o.String())
	}
	if len(rep.Causes) != 1 || rep.Causes[0].ID != "backend-down" {
		t.Errorf("as nobody: got causes %+v, want backend-down alone (no false config-invalid from nginx -t's pid file)", rep.Causes)
	}
	for _, s := range rep.Steps {
		for _, c := range s.Checks {
			if c.ID == "network.firewall" && (c.Status != "skip" || c.Summary == "") {
				t.Errorf("firewall without root: got %s %q, want skip with a reason", c.Status, c.Summary)
			}
		}
	}
}
