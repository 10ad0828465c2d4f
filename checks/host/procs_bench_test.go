package host

import (
	"context"
	"testing"
)

// BenchmarkLiveProcesses is the cost of one read of the process table
// through gopsutil (scripts/bench.sh compares it with the listener read).
func BenchmarkLiveProcesses(b *testing.B) {
	l := Live()
	for b.Loop() {
		ps, err := l.Processes(context.Background())
		if err != nil || len(ps) == 0 {
			b.Fatal(err)
		}
	}
}
