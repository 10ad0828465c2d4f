package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// upstream-timeout: the backend answers slower than the *_read_timeout in
// force (504). Facts.Setting/SettingAt name the directive, Took the time.
var upstreamTimeoutRule = Rule{
	ID:   CauseUpstreamTimeout,
	Step: 4,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answered(t, p)
		if h == nil {
			return nil
		}
		var out []Cause
		for _, pi := range t.Passes {
			pass := s.Config.Passes[pi]
			name, limit, at := readTimeout(pass)
			// The probe waits at least the read timeout (probe.Ask), up to a
			// cap: only a wait that long proves nginx gives up too.
			slow := h.Class == "timeout" && h.Waited >= limit
			if limit <= 0 || !(h.TTFB > limit || slow) {
				continue
			}
			measured := h.TTFB
			summary := fmt.Sprintf("The backend at %s answered in %s; %s is %s, so nginx gives up first.", t.Address, msText(measured), name, limit)
			if slow {
				measured = h.Waited
				summary = fmt.Sprintf("The backend at %s did not answer within %s; %s is %s.", t.Address, measured.Round(time.Millisecond), name, limit)
			}
			c := s.liveCause(CauseUpstreamTimeout, t, p, High, summary,
				fmt.Sprintf("%s %s (%s)", name, limit, atOrDefault(at)))
			c.Facts.Setting, c.Facts.SettingAt, c.Facts.Took = name, at, measured
			c.Facts.LocationAt = pass.At.String()
			out = append(out, c)
		}
		return out
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.Timeout && !strings.HasPrefix(e.Phase, "connecting") {
			return Creates
		}
		return NoMatch
	},
	Seen: "answered slower than nginx waits",
	LogFacts: func(s *Snapshot, t nginx.Target, c *Cause) {
		pass := s.Config.Passes[t.Passes[0]]
		name, limit, at := readTimeout(pass)
		c.Facts.Setting, c.Facts.SettingAt, c.Facts.LocationAt = name, at, pass.At.String()
		c.Facts.Took = limit
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", name, limit, atOrDefault(at)))
	},
}
