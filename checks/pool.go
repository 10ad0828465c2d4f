package checks

import (
	"fmt"
	"net"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// PoolFacts are what the pm.max_children fix needs of the php-fpm pool
// behind a target: where the limit is written and which master read it.
type PoolFacts struct {
	Pool host.Pool
	// Master is the php-fpm master that read the pool (its pid, binary
	// and main config), the one to test with -t and to reload.
	Master       int32
	Binary       string
	MasterConfig string
	// PeakRefused is the most connections nginx was refused in one second
	// ((11) lines for the target): the burst the pool must take at once.
	PeakRefused int
}

// poolFor is the php-fpm pool that listens where t points.
func (s *Snapshot) poolFor(t nginx.Target) (host.FPM, host.Pool, bool) {
	if t.Network == "unix" {
		return host.PoolFor(s.PHPFPM, "unix", t.Path, "", 0)
	}
	ip := t.Host
	if net.ParseIP(ip) == nil {
		// A name: the address the probe reached, else the first it resolved to.
		if r := s.Probes[t.Address].Resolved; len(r) > 0 {
			ip = r[0]
		}
	}
	return host.PoolFor(s.PHPFPM, "tcp", "", ip, t.Port)
}

// poolLine is the pool as a senior engineer quotes it.
func poolLine(f host.FPM, p host.Pool) string {
	line := fmt.Sprintf("php-fpm pool [%s] (%s:%d, master pid %d): listen %s", p.Name, p.File, p.Line, f.PID, p.Listen)
	if p.ListenOwner != "" || p.ListenGroup != "" || p.ListenMode != "" {
		line += fmt.Sprintf(", listen.owner/group/mode %s/%s/%s", dash(p.ListenOwner), dash(p.ListenGroup), dash(p.ListenMode))
	}
	if p.ListenBacklog > 0 {
		line += fmt.Sprintf(", listen.backlog %d", p.ListenBacklog)
	} else {
		line += ", listen.backlog default (511)"
	}
	if p.PM != "" {
		line += ", pm " + p.PM
	}
	if p.MaxChildren > 0 {
		line += fmt.Sprintf(", pm.max_children %d", p.MaxChildren)
		if p.MaxChildrenLine > 0 {
			line += fmt.Sprintf(" (%s:%d)", p.File, p.MaxChildrenLine)
		}
	}
	return line
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// poolWarnings are php-fpm's own log lines about pool p in the window,
// the newest n, and how many there are.
func poolWarnings(f host.FPM, p host.Pool, n int) ([]string, int) {
	var lines []string
	for _, l := range f.Log {
		if l.Pool == p.Name {
			lines = append(lines, l.Text)
		}
	}
	total := len(lines)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, total
}

// enrichPool adds the pool behind c's target to an overloaded backend's
// cause: its limit in the summary, its config and php-fpm's own warnings in
// the evidence, and what the fix needs.
func (s *Snapshot) enrichPool(c *Cause) {
	var t nginx.Target
	found := false
	for _, x := range s.Targets {
		if x.Address == c.Target {
			t, found = x, true
			break
		}
	}
	if !found {
		return
	}
	f, p, ok := s.poolFor(t)
	if !ok {
		return
	}
	c.Evidence = append(c.Evidence, poolLine(f, p))
	warn, total := poolWarnings(f, p, 2)
	for _, w := range warn {
		c.Evidence = append(c.Evidence, "php-fpm log: "+w)
	}
	if total > len(warn) {
		c.Evidence = append(c.Evidence, fmt.Sprintf("… %d such php-fpm lines in the window (%s)", total, f.ErrorLog))
	}
	if p.MaxChildrenReached > 0 {
		c.Summary = fmt.Sprintf("php-fpm's pool [%s] is at its limit: pm.max_children is %d and php-fpm logged %s in %s; further connections wait in a queue of %s and the rest are refused. %s",
			p.Name, p.MaxChildren, count(p.MaxChildrenReached, "\"server reached pm.max_children\" warning", "\"server reached pm.max_children\" warnings"), s.windowPhrase(), backlogText(p), c.Summary)
		if c.Confidence == Medium {
			c.Confidence = High // php-fpm's own word, beside nginx's
		}
	} else if p.MaxChildren > 0 {
		c.Summary = fmt.Sprintf("%s Its php-fpm pool [%s] runs at most %d children (pm.max_children).", c.Summary, p.Name, p.MaxChildren)
	}
	c.Facts.PHPFPM = &PoolFacts{Pool: p, Master: f.PID, Binary: f.Binary, MasterConfig: f.Config, PeakRefused: s.peakRefused(c.Target)}
}

// peakRefused is the largest number of "(11: Resource temporarily
// unavailable)" lines for target within one second of the window.
func (s *Snapshot) peakRefused(target string) int {
	per := map[int64]int{}
	peak := 0
	for _, l := range s.ErrorLogs {
		for _, e := range l.Entries {
			if e.Class != logs.Again || e.Target != target {
				continue
			}
			k := e.Time.Unix()
			per[k]++
			peak = max(peak, per[k])
		}
	}
	return peak
}

func backlogText(p host.Pool) string {
	if p.ListenBacklog > 0 {
		return fmt.Sprintf("%d (listen.backlog)", p.ListenBacklog)
	}
	return "511 (listen.backlog default)"
}
