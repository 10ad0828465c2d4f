package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// tls-handshake: TLS to the upstream fails, or the port speaks TLS while
// nginx talks plain to it (Facts.Speaks, or the probe's Speaks).
var tlsHandshakeRule = Rule{
	ID:   CauseTLSHandshake,
	Step: 5,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answer(t, p)
		switch {
		case h == nil:
			return nil
		case speaksTLSToPlain(t, h):
			return []Cause{s.liveCause(CauseTLSHandshake, t, p, High, fmt.Sprintf("The backend at %s speaks TLS, but nginx talks plain %s to it: the pass needs https://.", t.Address, protocolName(t)))}
		case h.Class == "tls":
			return []Cause{s.liveCause(CauseTLSHandshake, t, p, High, fmt.Sprintf("TLS to %s fails: %s.", t.Address, h.Error))}
		}
		return nil
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		switch e.Class {
		case logs.TLS:
			return Creates
		case logs.InvalidHeader, logs.GRPC:
			return Joins
		}
		return NoMatch
	},
	Seen: "failed the TLS handshake",
}
