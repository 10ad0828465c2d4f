package fixes

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// planNofile raises worker_rlimit_nofile when nginx's workers ran out of
// open files (24): to at least twice worker_connections, since a proxied
// connection holds two descriptors (the client's and the upstream's), with
// room for logs and temp files, in whole thousands (1024s). The workers
// set the limit themselves at start, so a reload puts it in force.
func planNofile(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseNginxResources || c.Facts.Setting != "worker_rlimit_nofile" || o == nil || o.Snapshot == nil || o.Snapshot.Config == nil {
		return nil
	}
	cfg := o.Snapshot.Config
	cur, at := 0, ""
	if d := cfg.RlimitNofile; len(d.Args) > 0 {
		n, err := strconv.Atoi(d.Args[0])
		if err != nil {
			return nil
		}
		cur, at = n, d.At.String()
	} else if lim := workerLimit(o); lim > 0 && lim != host.Unlimited {
		cur = int(min(lim, 1<<30))
	}
	want := (max(2*cur, 2*cfg.WorkerConnections)/1024 + 1) * 1024
	// A limit above what the workers may set fails their setrlimit (EPERM)
	// and the verification: ask at most what the kernel allows.
	limit, why := e.nofileCap(o)
	capped := ""
	if limit > 0 && want > limit {
		want = limit
		capped = fmt.Sprintf(" (at most %s allows)", why)
	}
	if want <= cur {
		return nil // no raise possible: a person must raise the cap first
	}
	ed, ok := setMainDirective(o, at, "worker_rlimit_nofile", strconv.Itoa(want))
	if !ok {
		return nil
	}
	title := fmt.Sprintf("Raise worker_rlimit_nofile from %d to %d%s", cur, want, capped)
	if at == "" {
		title = fmt.Sprintf("Set worker_rlimit_nofile %d%s (unset: the workers keep the master's limit", want, capped)
		if cur > 0 {
			title += fmt.Sprintf(" of %d", cur)
		}
		title += ")"
	}
	return []plan{{
		Fix: Fix{
			ID: fixID(c.ID, c.Target, "nofile"),
			Title: fmt.Sprintf("%s: above twice worker_connections %d, a client and an upstream descriptor per connection, with room for logs and temp files; and reload nginx",
				title, cfg.WorkerConnections),
			Undo: "ngxdoctor undo restores the file byte for byte and reloads nginx",
			Warning: "The workers set this limit themselves at start (nginx's master runs as root); a master started by another user " +
				"can raise it only up to its hard limit (ulimit -Hn, the service's LimitNOFILE).",
		},
		edits: []Edit{ed}, nginxEdits: true, revertible: true, workerFiles: uint64(want),
	}}
}

// nofileCap is the highest open-files limit nginx's workers can set, and
// what sets it: the kernel's fs.nr_open, and for a master not run by root
// (which cannot raise its hard limit) that hard limit too. 0 when unknown.
func (e *Engine) nofileCap(o *checks.Outcome) (int, string) {
	limit, why := 0, ""
	if n, ok := e.sysctl("fs/nr_open"); ok {
		limit, why = n, fmt.Sprintf("the kernel's fs.nr_open %d", n)
	}
	master := o.Snapshot.Install.MasterPID
	for _, p := range o.Snapshot.Processes {
		if p.PID != master || master <= 0 || p.UID == 0 {
			continue
		}
		if h, ok := e.hardNofile(int(p.PID)); ok && (limit == 0 || h < limit) {
			limit, why = h, fmt.Sprintf("the nginx master's hard limit %d (it runs as %s, not root)", h, p.User)
		}
	}
	return limit, why
}

// hardNofile reads a process's hard RLIMIT_NOFILE from its limits file
// ("Max open files  1024  524288  files").
func (e *Engine) hardNofile(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join(e.procDir(), strconv.Itoa(pid), "limits"))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) < 2 {
				return 0, false
			}
			n, err := strconv.Atoi(f[1])
			return n, err == nil
		}
	}
	return 0, false
}

// workerLimit is the fullest worker's open-files limit, 0 when unknown.
func workerLimit(o *checks.Outcome) uint64 {
	mine := map[int32]bool{}
	for _, pid := range o.Snapshot.Install.WorkerPIDs {
		mine[pid] = true
	}
	for _, p := range o.Snapshot.Processes {
		if mine[p.PID] && p.FileLimit != nil {
			return *p.FileLimit
		}
	}
	return 0
}

// setMainDirective sets a directive of the main config's main context: in
// place at at ("file:line") when it is set there, else a new line after
// worker_processes.
func setMainDirective(o *checks.Outcome, at, name string, args ...string) (Edit, bool) {
	src := filesOf(o)
	if at != "" {
		p, ok := directiveAt(src, at, func(d *directive) bool { return d.Name == name && d.Parent == nil }, nil)
		if !ok {
			return Edit{}, false
		}
		return p.Tree.setArgs(p.File, p.D, args...), true
	}
	path := o.Snapshot.Install.Config
	t, err := src.tree(path)
	if err != nil {
		return Edit{}, false
	}
	for _, d := range t.Top {
		if d.Name == name {
			return Edit{}, false // set, but not where the config model says: leave it to a person
		}
	}
	for _, d := range t.Top {
		if d.Name == "worker_processes" {
			return t.insertAfter(path, d, name, args...), true
		}
	}
	return Edit{}, false
}
