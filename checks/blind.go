package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// errorLevels are nginx's error_log levels, least severe first.
var errorLevels = []string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}

func levelIndex(l string) int {
	for i, x := range errorLevels {
		if x == l {
			return i
		}
	}
	return 4 // nginx's default, error
}

// blindLogs are the error logs set above "error": nginx writes every
// upstream failure at error, so such a log says nothing of them.
func (s *Snapshot) blindLogs() []nginx.LogFile {
	if s.Config == nil {
		return nil
	}
	var out []nginx.LogFile
	for _, l := range s.Config.ErrorLogs {
		if levelIndex(strings.ToLower(l.Level)) > levelIndex("error") {
			out = append(out, l)
		}
	}
	return out
}

// allBlind: every error log the config names is blind (and there is one).
func (s *Snapshot) allBlind() bool {
	return s.Config != nil && len(s.Config.ErrorLogs) > 0 && len(s.blindLogs()) == len(s.Config.ErrorLogs)
}

// noteGaps says where the evidence is thinner than it looks: error logs
// too quiet to show upstream failures, and log lines dated ahead of the
// host's clock (left out of the window).
func (s *Snapshot) noteGaps() {
	for _, l := range s.blindLogs() {
		s.Notes = append(s.Notes, fmt.Sprintf("error_log %s %s (%s): nginx logs upstream failures at level error, so this log shows none of them; the access log's 5xx counts and the probes stand in",
			l.Path, l.Level, l.At))
	}
	for _, l := range s.ErrorLogs {
		if l.Future > 0 {
			s.Notes = append(s.Notes, skewNote(l.Path, l.Future, l.FutureLast.Sub(s.Sys.Now())))
		}
	}
	for _, l := range s.Access {
		if l.Future > 0 {
			s.Notes = append(s.Notes, skewNote(l.Path, l.Future, l.FutureLast.Sub(s.Sys.Now())))
		}
	}
}

func skewNote(path string, n int, ahead time.Duration) string {
	return fmt.Sprintf("%s: %s dated up to %s ahead of this host's clock, left out of the window: clock skew between the host that wrote them and this one, or a wrong time zone",
		path, count(n, "line", "lines"), ahead.Round(time.Second))
}

// blindEvidence gives the causes found while every error log is blind the
// access log's gateway errors: the only record of what users met.
func (d *diagnosis) blindEvidence() {
	s := d.s
	if !s.allBlind() {
		return
	}
	var lines []string
	for _, a := range s.Access {
		if n := a.Status[502] + a.Status[503] + a.Status[504]; n > 0 {
			lines = append(lines, fmt.Sprintf("%s: %d of %d requests in %s got 502/503/504 (502: %d, 503: %d, 504: %d), while the error log at %s shows none",
				a.Path, n, a.Requests, s.windowPhrase(), a.Status[502], a.Status[503], a.Status[504], s.blindLogs()[0].Level))
		}
	}
	if len(lines) == 0 {
		return
	}
	for _, c := range d.order {
		if c.Live && c.Target != "" && c.ID != CauseNginxNotRunning && c.ID != CauseConfigInvalid {
			c.Evidence = append(c.Evidence, lines...)
		}
	}
}
