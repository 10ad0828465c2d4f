package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestHeaderTooBigRule(t *testing.T) {
	header := func(n int, class string) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200, HeaderBytes: n, Class: class}}
		}
	}
	testRule(t, CauseHeaderTooBig, []ruleCase{
		{"16000 bytes over the default 4k/8k buffer", tcp3000, header(16000, ""), true, true, 0},
		{"a 900-byte header fits", tcp3000, header(900, ""), false, false, 0},
		{"over 1 MiB: the probe gave up", tcp3000, header(0, "header-too-big"), true, true, 0},
		{"too big, per the log", tcp3000, func(s *Snapshot) {
			header(900, "")(s)
			s.ErrorLogs = lines(entry(logs.HeaderTooBig, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
	s := snap(tcp3000)
	header(16000, "")(s)
	if cs := Diagnose(s); len(cs) == 0 || cs[0].Facts.Setting != "proxy_buffer_size" || cs[0].Facts.HeaderBytes != 16000 || cs[0].Facts.LocationAt == "" {
		t.Fatalf("facts for the fix: %+v", cs)
	}
}
