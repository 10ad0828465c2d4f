package checks

import (
	"fmt"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// BenchmarkDiagnoseWindow diagnoses a window of 60,000 logged errors
// spread over n targets. The diagnosis reads the logs' counts, so ns/op
// follows the targets and the distinct (class, target, phase) keys, not
// the lines: compare targets=10 with targets=1000 and lines=60000 with
// lines=600000.
//
//	go test ./checks -run '^$' -bench DiagnoseWindow
func BenchmarkDiagnoseWindow(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, lines := range []int{60_000, 600_000} {
			b.Run(fmt.Sprintf("targets=%d/lines=%d", n, lines), func(b *testing.B) {
				s := snap(tcp3000)
				s.Targets = nil
				var counts []logs.Count
				for i := range n {
					t := nginx.Target{Kind: "http", Network: "tcp", Address: fmt.Sprintf("127.0.0.1:%d", 20000+i), Host: "127.0.0.1", Port: 20000 + i, Passes: []int{0}}
					s.Targets = append(s.Targets, t)
					s.Probes[t.Address] = probe.Result{Status: probe.Refused, Errno: 111}
					for _, c := range []logs.Class{logs.Refused, logs.Timeout} {
						e := entry(c, t.Address, now.Add(-time.Minute))
						e.Phase = "connecting to upstream"
						counts = append(counts, logs.Count{Class: c, Target: t.Address, Phase: e.Phase, Lines: lines / n / 2,
							First: e.Time, Last: e.Time, Examples: []logs.Entry{e, e, e}})
					}
				}
				s.ErrorLogs = []logs.ErrorLog{{Counts: counts}}
				for b.Loop() {
					Diagnose(s)
				}
			})
		}
	}
}
