package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// header-too-big: the response header does not fit the *_buffer_size in
// force. Facts.Setting/SettingAt name the directive, HeaderBytes the size.
var headerTooBigRule = Rule{
	ID:   CauseHeaderTooBig,
	Step: 4,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answered(t, p)
		if h == nil {
			return nil
		}
		var out []Cause
		if h.Class == "header-too-big" {
			out = append(out, s.liveCause(CauseHeaderTooBig, t, p, High, fmt.Sprintf("The backend at %s sends a response header over 1 MiB: no buffer setting fixes that; the backend must send less.", t.Address)))
		}
		if h.HeaderBytes <= 0 {
			return out
		}
		for _, pi := range t.Passes {
			pass := s.Config.Passes[pi]
			name, size, at := bufferSize(pass)
			if size <= 0 || int64(h.HeaderBytes) <= size {
				continue
			}
			c := s.liveCause(CauseHeaderTooBig, t, p, High, fmt.Sprintf("The backend at %s sends a %d-byte response header; %s is %s, so nginx refuses it.", t.Address, h.HeaderBytes, name, humanSize(size)),
				fmt.Sprintf("%s %s (%s)", name, humanSize(size), atOrDefault(at)))
			c.Facts.Setting, c.Facts.SettingAt, c.Facts.HeaderBytes = name, at, h.HeaderBytes
			c.Facts.LocationAt = pass.At.String()
			out = append(out, c)
		}
		return out
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.HeaderTooBig {
			return Creates
		}
		return NoMatch
	},
	Seen: "sent a response header bigger than nginx's buffer",
	LogFacts: func(s *Snapshot, t nginx.Target, c *Cause) {
		pass := s.Config.Passes[t.Passes[0]]
		name, size, at := bufferSize(pass)
		c.Facts.Setting, c.Facts.SettingAt, c.Facts.LocationAt = name, at, pass.At.String()
		c.Facts.HeaderBytes = int(size)
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", name, humanSize(size), atOrDefault(at)))
	},
}
