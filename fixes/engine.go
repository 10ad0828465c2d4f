package fixes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Runner runs one command as argv, never through a shell. A non-zero exit
// is reported in exit, not as err; err means the command could not run.
type Runner interface {
	Run(ctx context.Context, argv []string) (stdout, stderr []byte, exit int, err error)
}

// ExecRunner runs commands on the host, each with its own deadline so a
// hung systemctl or nginx cannot stall a fix forever.
type ExecRunner struct {
	// Timeout bounds each command; zero means 30s.
	Timeout time.Duration
}

func (r ExecRunner) Run(ctx context.Context, argv []string) ([]byte, []byte, int, error) {
	if len(argv) == 0 {
		return nil, nil, -1, errors.New("empty command")
	}
	d := r.Timeout
	if d == 0 {
		d = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A daemon started by the command (php-fpm via systemctl, say) must not
	// keep our pipes open past the deadline.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return out.Bytes(), errb.Bytes(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.Bytes(), errb.Bytes(), -1, fmt.Errorf("%s: %w", argv[0], err)
	}
	return out.Bytes(), errb.Bytes(), 0, nil
}

// Recorder is a Runner for tests and the demo: it records every argv and
// answers with Reply (exit 0 and no output when Reply is nil).
type Recorder struct {
	mu    sync.Mutex
	calls [][]string
	Reply func(argv []string) (stdout, stderr []byte, exit int, err error)
}

func (r *Recorder) Run(_ context.Context, argv []string) ([]byte, []byte, int, error) {
	r.mu.Lock()
	r.calls = append(r.calls, append([]string(nil), argv...))
	r.mu.Unlock()
	if r.Reply != nil {
		return r.Reply(argv)
	}
	return nil, nil, 0, nil
}

// Calls returns a copy of the argv recorded so far.
func (r *Recorder) Calls() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]string, len(r.calls))
	copy(out, r.calls)
	return out
}

// Engine holds everything a fix touches on the host, so tests can point it
// at a temp dir, stand-in commands and a private nginx. The package-level
// functions use Default().
type Engine struct {
	Runner Runner
	// JournalDir holds the journal entries and the backups.
	JournalDir string
	// ResolvConf is read for the no-resolver fix's nameservers.
	ResolvConf string
	// PoolGlobs find php-fpm pool files (the running master's -y file and
	// its include= globs are searched too).
	PoolGlobs []string
	// SystemdRoot exists when systemd is the init (/run/systemd/system).
	SystemdRoot string
	// UnitDir and CronDir receive the monitoring timer or cron file.
	UnitDir string
	CronDir string
	// TextfileDir is node_exporter's textfile collector directory.
	TextfileDir string
	// Self is the ngxdoctor binary the monitoring unit runs.
	Self string
	// Watch is how long the error log is watched after a change.
	Watch time.Duration
	// ReloadWait bounds the wait for new nginx workers.
	ReloadWait time.Duration
	// ProbeTimeout bounds each verification probe and request.
	ProbeTimeout time.Duration
	Now          func() time.Time
	// ProcSys is where the kernel's limits are read (net/core/somaxconn,
	// fs/nr_open), and its parent where a process's limits are
	// (PID/limits); "" is /proc/sys. Tests point it at a copy.
	ProcSys string
	// listenQueue is setListenQueue; tests wrap it to make the kernel
	// refuse or the check after listen(2) fail.
	listenQueue func(ctx context.Context, q listenQueue, n int) error
}

// Default is the engine for the live host.
func Default() *Engine {
	self, _ := os.Executable()
	return &Engine{
		Runner:       ExecRunner{},
		JournalDir:   StateDir(),
		ResolvConf:   "/etc/resolv.conf",
		PoolGlobs:    []string{"/etc/php/*/fpm/pool.d/*.conf"},
		SystemdRoot:  "/run/systemd/system",
		UnitDir:      "/etc/systemd/system",
		CronDir:      "/etc/cron.d",
		TextfileDir:  "/var/lib/node_exporter/textfile_collector",
		Self:         self,
		Watch:        2 * time.Second,
		ReloadWait:   10 * time.Second,
		ProbeTimeout: 3 * time.Second,
		Now:          time.Now,
	}
}

// StateDirEnv names the directory that holds the journal instead of the
// default: tests and packaging point it at their own directory so they
// never touch the machine's /var/lib/ngxdoctor.
const StateDirEnv = "NGXDOCTOR_STATE_DIR"

// StateDir is where the journal lives: $NGXDOCTOR_STATE_DIR/journal when
// set, /var/lib/ngxdoctor/journal for root, the XDG state directory
// otherwise (so a user's undo never needs root). "" when the user has no
// home: never a shared directory such as /tmp, where another user could
// plant an entry for undo to run.
func StateDir() string {
	if d := os.Getenv(StateDirEnv); filepath.IsAbs(d) {
		return filepath.Join(d, "journal")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/ngxdoctor/journal"
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "ngxdoctor", "journal")
	}
	home, err := os.UserHomeDir()
	if err != nil || !filepath.IsAbs(home) {
		return ""
	}
	return filepath.Join(home, ".local", "state", "ngxdoctor", "journal")
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) systemd() bool {
	if e.SystemdRoot == "" {
		return false
	}
	fi, err := os.Stat(e.SystemdRoot)
	return err == nil && fi.IsDir()
}

// run runs argv and turns a non-zero exit into an error carrying its output.
func (e *Engine) run(ctx context.Context, argv []string) (string, error) {
	out, errb, code, err := e.Runner.Run(ctx, argv)
	text := strings.TrimSpace(string(out) + string(errb))
	if err != nil {
		return text, err
	}
	if code != 0 {
		return text, fmt.Errorf("%s exited %d: %s", strings.Join(argv, " "), code, firstLines(text, 5))
	}
	return text, nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
