package fixes

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

const (
	monitorUnit  = "ngxdoctor-check"
	promFile     = "ngxdoctor.prom"
	cronFileName = "ngxdoctor"
)

// planMonitor installs a check every minute whose result node_exporter's
// textfile collector reads: a systemd service and timer, or a cron.d file
// where there is no systemd.
func planMonitor(e *Engine, o *checks.Outcome) []plan {
	if e.Self == "" || !filepath.IsAbs(e.Self) || e.TextfileDir == "" {
		return nil
	}
	// The job runs as root every minute: whoever may replace the binary,
	// or any directory above it, would run as root too.
	if why := rootOnly(e.Self); why != "" {
		return []plan{{Fix: Fix{
			ID:         fixID("advice", "ngxdoctor", "monitor"),
			Title:      "Run ngxdoctor check every minute for node_exporter",
			NotOffered: "the job would run " + e.Self + " as root, but " + why + "; install ngxdoctor where only root may write (/usr/bin, /usr/local/bin)",
		}}}
	}
	argv := []string{e.Self, "check", "--format", "prom"}
	if o != nil && o.Snapshot != nil {
		if c := nginxOf(o).Config; c != "" {
			argv = append(argv, "-c", c)
		}
	}
	tmp := filepath.Join(e.TextfileDir, promFile+".tmp")
	final := filepath.Join(e.TextfileDir, promFile)
	// The command line is written into a unit file (systemd splits it on
	// spaces and expands % and $) or a cron line (run by /bin/sh, % is a
	// newline): only words that mean the same to both are accepted.
	for _, w := range append(append([]string(nil), argv...), tmp, final) {
		if !plainWord.MatchString(w) {
			return nil
		}
	}
	var cmds, undo, after [][]string
	if _, err := os.Stat(e.TextfileDir); err != nil {
		cmds = append(cmds, []string{"mkdir", "-p", e.TextfileDir})
	}
	var edits []Edit
	var check []string
	how := ""
	if e.systemd() {
		svc := filepath.Join(e.UnitDir, monitorUnit+".service")
		tim := filepath.Join(e.UnitDir, monitorUnit+".timer")
		if exists(svc) || exists(tim) {
			return nil
		}
		edits = []Edit{
			{Path: svc, Create: true, New: "[Unit]\n" +
				"Description=ngxdoctor check for node_exporter's textfile collector\n\n" +
				"[Service]\nType=oneshot\n" +
				"# Exit 1 means causes were found, 2 that the check did not complete (its\n" +
				"# metrics say so): results to publish, not failures of the unit.\n" +
				"SuccessExitStatus=1 2\n" +
				"ExecStart=" + strings.Join(argv, " ") + "\n" +
				"StandardOutput=truncate:" + tmp + "\n" +
				"# node_exporter reads only *.prom files: the rename makes each result appear whole.\n" +
				"ExecStartPost=/bin/mv -f " + tmp + " " + final + "\n" +
				"Nice=10\n"},
			{Path: tim, Create: true, New: "[Unit]\nDescription=Run ngxdoctor check every minute\n\n" +
				"[Timer]\nOnBootSec=1min\nOnUnitActiveSec=1min\nAccuracySec=5s\n\n" +
				"[Install]\nWantedBy=timers.target\n"},
		}
		cmds = append(cmds, []string{"systemctl", "daemon-reload"},
			[]string{"systemctl", "enable", "--now", monitorUnit + ".timer"})
		undo = [][]string{{"systemctl", "disable", "--now", monitorUnit + ".timer"}}
		check = []string{"systemctl", "is-active", monitorUnit + ".timer"}
		after = [][]string{{"systemctl", "daemon-reload"}}
		how = "a systemd timer (" + monitorUnit + ".timer)"
	} else {
		if fi, err := os.Stat(e.CronDir); err != nil || !fi.IsDir() {
			return nil
		}
		cron := filepath.Join(e.CronDir, cronFileName)
		if exists(cron) {
			return nil
		}
		// cron runs the line through its own /bin/sh; ngxdoctor does not.
		edits = []Edit{{Path: cron, Create: true, New: "# ngxdoctor check every minute for node_exporter's textfile collector.\n" +
			"SHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n" +
			"* * * * * root " + strings.Join(argv, " ") + " > " + tmp + " 2>/dev/null; mv -f " + tmp + " " + final + "\n"}}
		how = "a cron.d entry (" + cron + ")"
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID("advice", "ngxdoctor", "monitor"),
			Title: "Run ngxdoctor check every minute via " + how + " into " + final,
			Undo:  "ngxdoctor undo stops the schedule and deletes the files it added",
			Warning: "Metrics: ngxdoctor_up, ngxdoctor_check_complete, ngxdoctor_problem, ngxdoctor_cause{cause,target} (occurrences), " +
				"ngxdoctor_check_duration_seconds, ngxdoctor_last_run_timestamp_seconds; alert on ngxdoctor_problem == 1",
		},
		edits: edits, commands: cmds, undo: undo, undoAfter: after, checkCmd: check,
	}}
}

// rootOnly is "" when path and every directory above it belong to root
// and nobody else may write them, else what is wrong.
func rootOnly(path string) string {
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err.Error()
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		switch {
		case !ok:
			return p + ": no owner known"
		case fi.Mode()&os.ModeSymlink != 0:
			return p + " is a symlink"
		case st.Uid != 0:
			return fmt.Sprintf("%s belongs to uid %d, not root", p, st.Uid)
		case fi.Mode().Perm()&0o022 != 0:
			return fmt.Sprintf("%s is writable by others (mode %04o)", p, fi.Mode().Perm())
		}
		if p == "/" {
			return ""
		}
	}
}

// plainWord is a word no shell, cron or systemd reads differently.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:@+,=-]+$`)

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Prom renders an outcome in node_exporter's textfile format; the CLI's
// --format prom prints it and the monitoring unit stores it.
func Prom(o *checks.Outcome) string {
	var b strings.Builder
	metric := func(name, help, typ string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("ngxdoctor_up", "1 when the check could diagnose nginx.", "gauge")
	if o == nil {
		b.WriteString("ngxdoctor_up 0\n")
		return b.String()
	}
	b.WriteString("ngxdoctor_up 1\n")
	metric("ngxdoctor_check_complete", "1 when the check ran to the end; 0 when it was interrupted or a phase did not finish.", "gauge")
	fmt.Fprintf(&b, "ngxdoctor_check_complete %d\n", boolInt(o.Complete))
	// An incomplete check proves no health: ngxdoctor_problem 0 is never
	// written for one. Causes found before a phase ran out still count;
	// after an interruption none do (probes cut short look like failures).
	if o.Complete || (len(o.Causes) > 0 && !o.Interrupted) {
		metric("ngxdoctor_problem", "1 when at least one cause of 502/503/504 was found.", "gauge")
		fmt.Fprintf(&b, "ngxdoctor_problem %d\n", boolInt(len(o.Causes) > 0))
		metric("ngxdoctor_cause", "Causes found, by cause id and target; the value is the error-log lines it explains.", "gauge")
		lines := make([]string, 0, len(o.Causes))
		for _, c := range o.Causes {
			lines = append(lines, fmt.Sprintf("ngxdoctor_cause{cause=%s,target=%s} %d\n", promLabel(string(c.ID)), promLabel(c.Target), c.Occurrences))
		}
		sort.Strings(lines)
		b.WriteString(strings.Join(lines, ""))
	}
	metric("ngxdoctor_check_duration_seconds", "How long the check took.", "gauge")
	fmt.Fprintf(&b, "ngxdoctor_check_duration_seconds %s\n", strconv.FormatFloat(o.Duration.Seconds(), 'f', 3, 64))
	metric("ngxdoctor_last_run_timestamp_seconds", "When the check started (Unix time).", "gauge")
	fmt.Fprintf(&b, "ngxdoctor_last_run_timestamp_seconds %d\n", o.Started.Unix())
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func promLabel(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
