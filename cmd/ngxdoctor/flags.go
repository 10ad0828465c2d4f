package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// flags shared by the wizard, check and fix: a fix is planned afresh from
// the same evidence, so its ID stays valid with the same flags.
type flags struct {
	config     string
	nginx      string
	errorLogs  []string
	accessLogs []string
	since      string
	timeout    time.Duration
	format     string
	readOnly   bool
	noReplay   bool
	noColor    bool
	learn      bool
	// replay diagnoses a recorded host instead of this one (support, tests).
	replay string
}

func (f *flags) register(c *cobra.Command, wizard bool) {
	fl := c.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "nginx main config (default: the running master's -c, else nginx -V's --conf-path, else /etc/nginx/nginx.conf)")
	fl.StringVar(&f.nginx, "nginx", "", "nginx binary (default: the running master's executable, else nginx on PATH)")
	fl.StringArrayVar(&f.errorLogs, "error-log", nil, "error log to read (repeatable; default: the config's error_log paths)")
	fl.StringArrayVar(&f.accessLogs, "access-log", nil, "access log to read (repeatable; default: the config's access_log paths)")
	fl.StringVar(&f.since, "since", "15m", "log window: a duration such as 15m or 2h, or all")
	fl.DurationVar(&f.timeout, "timeout", checks.DefaultTimeout, "deadline for each probe")
	fl.BoolVar(&f.readOnly, "read-only", false, "never offer or apply fixes")
	fl.BoolVar(&f.noReplay, "no-replay", false, "make no request through nginx (by default the window's failing GET/HEAD requests are asked again)")
	fl.BoolVar(&f.noColor, "no-color", false, "plain output (NO_COLOR is honoured too)")
	fl.StringVar(&f.replay, "replay", "", "diagnose a recording made by `ngxdoctor record` instead of this host")
	_ = fl.MarkHidden("replay")
	if wizard {
		fl.BoolVar(&f.learn, "learn", false, "start in the learn view: each step explains its reasoning and the commands to type by hand")
	}
}

// options turns the flags into the checks' options, rejecting bad values.
func (f *flags) options() (checks.Options, error) {
	o := checks.Options{Config: f.config, Nginx: f.nginx, ErrorLogs: f.errorLogs, AccessLogs: f.accessLogs, Timeout: f.timeout,
		NoReplay: f.noReplay, Version: agentVersion()}
	if f.replay == "" {
		// A log named on the command line is where the user stands, not
		// under nginx's prefix (which is how nginx reads the config's own).
		o.ErrorLogs, o.AccessLogs = fromHere(f.errorLogs), fromHere(f.accessLogs)
	}
	switch s := strings.TrimSpace(f.since); s {
	case "all":
		o.All = true
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("--since %q: want a positive duration such as 15m or 2h, or all", f.since)
		}
		o.Since = d
	}
	if f.timeout <= 0 || f.timeout > 5*time.Minute {
		return o, fmt.Errorf("--timeout %s: want a duration between 1ms and 5m", f.timeout)
	}
	return o, nil
}

// color says whether output to w may use colour.
func (f *flags) color(w *os.File) bool {
	if f.noColor || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// isTerminal asks the tty driver; a character device alone (/dev/null) is not a terminal.
func isTerminal(w *os.File) bool { return term.IsTerminal(w.Fd()) }

// system is the host to diagnose: this machine, or a recording replayed.
func (f *flags) system() (host.System, error) {
	if f.replay == "" {
		return host.Live(), nil
	}
	b, err := os.ReadFile(f.replay)
	if err != nil {
		return nil, err
	}
	rec, err := host.LoadRecording(b)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("--replay %s: not a recording", f.replay), err)
	}
	return host.Replay(rec), nil
}

// fromHere makes relative paths absolute against the working directory.
func fromHere(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		out = append(out, p)
	}
	return out
}
