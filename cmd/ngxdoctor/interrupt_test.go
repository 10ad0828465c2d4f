package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// probing reports whether process pid has a TCP connection to port that
// waits for its SYN to be answered (state 02 in /proc/net/tcp): its probe
// of a black-holed backend, in flight. The socket must be pid's own: other
// programs on the host may connect to the port too.
func probing(pid, port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X", port)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && strings.HasSuffix(f[2], want) && f[3] == "02" {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && inodes[link] {
			return true
		}
	}
	return false
}

// TestCheckInterrupted sends SIGTERM to a real `ngxdoctor check` while it
// probes a backend whose listen queue is full (connects hang until the
// 60 s probe deadline). The run must not read as healthy: exit 2, a
// message on stderr, and for the monitoring timer ngxdoctor_check_complete
// 0 with no ngxdoctor_problem line.
func TestCheckInterrupted(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx workers as www-data: root is needed")
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, _ := lab.Find("backend-overloaded")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, ps, _ := strings.Cut(l.Backends[0], "127.0.0.1:")
	port, _ := strconv.Atoi(ps)

	for _, format := range []string{"prom", "text", "json"} {
		t.Run(format, func(t *testing.T) {
			cmd := exec.Command(bin, "check", "-c", l.Config, "--nginx", l.Nginx, "--timeout", "60s", "--format", format)
			cmd.Env = append(os.Environ(), "NGXDOCTOR_STATE_DIR="+t.TempDir())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				// Never leave the child behind, whatever failed.
				_ = cmd.Process.Kill()
				<-done
			}()
			for !probing(cmd.Process.Pid, port) {
				select {
				case err := <-done:
					done <- err
					t.Fatalf("check ended before it probed the backend: %v\n%s\n%s", err, stdout.String(), stderr.String())
				case <-ctx.Done():
					t.Fatal("the probe never connected to the backend")
				case <-time.After(20 * time.Millisecond):
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var werr error
			select {
			case werr = <-done:
				done <- werr
			case <-time.After(30 * time.Second):
				t.Fatalf("check did not stop after SIGTERM (its probe deadline is 60 s)")
			}
			var ee *exec.ExitError
			if !errors.As(werr, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: got %v, want 2\nstdout:\n%s\nstderr:\n%s", werr, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "did not complete") && !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say the check did not complete:\n%s", stderr.String())
			}
			out := stdout.String()
			switch format {
			case "prom":
				if !strings.Contains(out, "ngxdoctor_check_complete 0\n") || strings.Contains(out, "ngxdoctor_problem") {
					t.Errorf("prom: got\n%s\nwant ngxdoctor_check_complete 0 and no ngxdoctor_problem", out)
				}
			case "text":
				if strings.Contains(out, "OK  ") || strings.Contains(out, "healthy") {
					t.Errorf("an interrupted check reads as healthy:\n%s", out)
				}
			case "json":
				if out != "" && (!strings.Contains(out, `"complete": false`) || strings.Contains(out, `"status": "ok"`)) {
					t.Errorf("json of an interrupted check:\n%s", out)
				}
			}
		})
	}
}
