package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// Context is the line that says where and when a diagnosis ran: host,
// nginx version, config, master pid, worker user and the time of the
// checks. The wizard shows it under the verdict; every report starts with it.
func Context(o *checks.Outcome) string { return context(o, false) }

// ContextShort is Context in fewer words, for one line of an 80-column
// screen: "nginx 1.22.1 · /etc/nginx/nginx.conf · master 812 · workers www-data · 06:01:30 UTC".
func ContextShort(o *checks.Outcome) string { return context(o, true) }

func context(o *checks.Outcome, short bool) string {
	s := o.Snapshot
	if s == nil {
		return ""
	}
	var parts []string
	if h := hostName(s); h != "" {
		parts = append(parts, "host "+h)
	}
	parts = append(parts, "nginx "+orQ(s.Install.Version), s.Install.Config)
	master, workers, checked, layout := "master pid %d", "workers as ", "checked ", "2006-01-02 15:04:05 MST"
	if short {
		master, workers, checked, layout = "master %d", "user ", "", "15:04:05"
	}
	if s.Install.Running {
		parts = append(parts, fmt.Sprintf(master, s.Install.MasterPID))
	} else {
		parts = append(parts, "not running")
	}
	if u := workerUser(s); u != "" {
		parts = append(parts, workers+u)
	}
	if !o.Started.IsZero() {
		t := o.Started
		if s.Sys != nil && s.Sys.Location() != nil {
			t = t.In(s.Sys.Location())
		}
		parts = append(parts, checked+t.Format(layout))
	}
	return strings.Join(parts, " · ")
}

// hostName is the machine's name when the snapshot knows it.
func hostName(s *checks.Snapshot) string {
	if s.MachineErr != nil {
		return ""
	}
	return s.Machine.Name
}

func workerUser(s *checks.Snapshot) string {
	if s.WorkerUser.Name != "" {
		return s.WorkerUser.Name
	}
	return s.Install.WorkerUser
}

// Group is the causes of one id, with the servers and upstream groups
// they concern: 200 broken backends are one story, told once.
type Group struct {
	ID checks.CauseID
	// Causes are indexes into Outcome.Causes, most likely first.
	Causes []int
	// Servers is how many distinct targets the group's causes name;
	// Upstreams how many upstream groups those targets belong to.
	Servers, Upstreams int
}

// Groups puts the causes of o in groups by cause id, in the order of each
// id's most likely cause.
func Groups(o *checks.Outcome) []Group {
	up := map[string]map[string]bool{}
	for _, t := range targetsOf(o) {
		if up[t.Address] == nil {
			up[t.Address] = map[string]bool{}
		}
		if t.Upstream != "" {
			up[t.Address][t.Upstream] = true
		}
	}
	var out []Group
	at := map[checks.CauseID]int{}
	for i, c := range o.Causes {
		gi, ok := at[c.ID]
		if !ok {
			gi = len(out)
			at[c.ID] = gi
			out = append(out, Group{ID: c.ID})
		}
		out[gi].Causes = append(out[gi].Causes, i)
	}
	for gi := range out {
		servers, ups := map[string]bool{}, map[string]bool{}
		for _, i := range out[gi].Causes {
			t := o.Causes[i].Target
			if t == "" {
				continue
			}
			servers[t] = true
			for u := range up[t] {
				ups[u] = true
			}
		}
		out[gi].Servers, out[gi].Upstreams = len(servers), len(ups)
	}
	return out
}

// Servers is how many distinct targets (servers and sockets) the config names.
func Servers(o *checks.Outcome) int {
	seen := map[string]bool{}
	for _, t := range targetsOf(o) {
		seen[t.Address] = true
	}
	return len(seen)
}

// Headline says what a group is in one line:
// "backend-down: 180 of 200 servers in 60 upstreams".
func (g Group) Headline(o *checks.Outcome) string {
	if len(g.Causes) == 1 {
		c := o.Causes[g.Causes[0]]
		if c.Target == "" {
			return string(c.ID)
		}
		return string(c.ID) + " on " + c.Target
	}
	h := fmt.Sprintf("%s: %d of %d servers", g.ID, g.Servers, Servers(o))
	switch g.Upstreams {
	case 0:
	case 1:
		h += " in 1 upstream"
	default:
		h += fmt.Sprintf(" in %d upstreams", g.Upstreams)
	}
	return h
}

// Upstreams names the upstream groups of a group's targets, sorted.
func (g Group) UpstreamNames(o *checks.Outcome) []string {
	targets := map[string]bool{}
	for _, i := range g.Causes {
		targets[o.Causes[i].Target] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range targetsOf(o) {
		if targets[t.Address] && t.Upstream != "" && !seen[t.Upstream] {
			seen[t.Upstream] = true
			out = append(out, t.Upstream)
		}
	}
	sort.Strings(out)
	return out
}

func targetsOf(o *checks.Outcome) []nginx.Target {
	if o.Snapshot == nil {
		return nil
	}
	return o.Snapshot.Targets
}
