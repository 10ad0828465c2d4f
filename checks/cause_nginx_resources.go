package checks

import (
	"fmt"
	"slices"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

// nginx-resources: nginx itself runs out of open files (24),
// worker_connections or local ports (99). Live, from the process table:
// workers whose open descriptors reach their limit.
var nginxResourcesRule = Rule{
	ID:        CauseNginxResources,
	Step:      8,
	LogProves: true,
	Nginx: func(s *Snapshot) []Cause {
		ws := workerFiles(s)
		if len(ws) == 0 || !nearLimit(ws[0]) {
			return nil
		}
		w := ws[0]
		return []Cause{{ID: CauseNginxResources, Target: "nginx", Live: true, Confidence: High,
			Summary: fmt.Sprintf("nginx worker pid %d has %d of its %d open files in use: new client and upstream connections fail with \"Too many open files\" (24).",
				w.PID, *w.OpenFiles, *w.FileLimit),
			Evidence: fileEvidence(s, ws), Facts: Facts{Setting: "worker_rlimit_nofile"}}}
	},
	Unattached: func(s *Snapshot, e logs.Entry) (Cause, bool) {
		switch e.Class {
		case logs.TooManyFiles, logs.WorkerConns, logs.AddrNotAvail:
			c := Cause{ID: CauseNginxResources, Target: "nginx", Confidence: High, Logged: true,
				Summary: "nginx itself runs out of " + resourceName(e.Class) + seenBy(s, e.Class)}
			if e.Class != logs.AddrNotAvail {
				c.Evidence = fileEvidence(s, workerFiles(s))
			}
			switch e.Class {
			case logs.TooManyFiles:
				c.Facts.Setting = "worker_rlimit_nofile"
			case logs.WorkerConns:
				c.Facts.Setting = "worker_connections"
			}
			return c, true
		}
		return Cause{}, false
	},
}

// workerFiles are the running workers whose open files and limit the
// process table knows, fullest first.
func workerFiles(s *Snapshot) []host.Process {
	mine := map[int32]bool{}
	for _, pid := range s.Install.WorkerPIDs {
		mine[pid] = true
	}
	var out []host.Process
	for _, p := range s.Processes {
		if mine[p.PID] && p.OpenFiles != nil && p.FileLimit != nil && *p.FileLimit > 0 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b host.Process) int { return int(*b.OpenFiles) - int(*a.OpenFiles) })
	return out
}

// nearLimit: 90% of the descriptors are taken; the next burst fails.
func nearLimit(p host.Process) bool {
	return *p.FileLimit != host.Unlimited && uint64(*p.OpenFiles)*10 >= *p.FileLimit*9
}

// fileEvidence puts the workers' open files beside the two settings that
// bound them: each connection can hold two descriptors (client and
// upstream), so worker_connections needs twice its value, and
// worker_rlimit_nofile (or the service's LimitNOFILE) is the ceiling.
func fileEvidence(s *Snapshot, ws []host.Process) []string {
	if len(ws) == 0 || s.Config == nil {
		return nil
	}
	var ev []string
	for _, w := range ws[:min(len(ws), 3)] {
		ev = append(ev, fmt.Sprintf("nginx worker pid %d: %d open files, limit %s", w.PID, *w.OpenFiles, limitWord(*w.FileLimit)))
	}
	lim := *ws[0].FileLimit
	limit := "unset: the workers inherit the master's limit (the service's LimitNOFILE)"
	if d := s.Config.RlimitNofile; len(d.Args) > 0 {
		limit = d.Args[0] + " (" + d.At.String() + ")"
	}
	ev = append(ev, "worker_rlimit_nofile: "+limit)
	wc := s.Config.WorkerConnections
	if lim != host.Unlimited && uint64(2*wc) > lim {
		ev = append(ev, fmt.Sprintf("worker_connections %d: proxied, each connection holds two descriptors (client and upstream), up to %d per worker, above the limit %d", wc, 2*wc, lim))
	} else {
		ev = append(ev, fmt.Sprintf("worker_connections %d: up to %d descriptors per worker when proxying, within the limit %s", wc, 2*wc, limitWord(lim)))
	}
	return ev
}

func limitWord(n uint64) string {
	if n == host.Unlimited {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// seenBy is what clients get when nginx runs out of c, from nginx's
// source and the lab's runs: a missing upstream connection is a 500, a
// missing client connection is closed unanswered, and leaves no
// access-log line.
func seenBy(s *Snapshot, c logs.Class) string {
	switch c {
	case logs.TooManyFiles:
		return ": a request whose upstream socket cannot be opened gets 500, and new clients wait while accept() fails."
	case logs.WorkerConns:
		wc := ""
		if s.Config != nil {
			wc = fmt.Sprintf(" (%d per worker)", s.Config.WorkerConnections)
		}
		return wc + ": nginx closes clients' connections without an answer (no 5xx and no access-log line for them), " +
			"or answers 500 when no connection is left for the upstream."
	}
	return "."
}
