package probe

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// fleet is a large nginx config's worth of loopback backends.
type fleet struct {
	targets                    []nginx.Target
	accepting, refused, queued map[string]bool
}

func newFleet(tb testing.TB, accepting, refused, queued int) fleet {
	tb.Helper()
	raiseNoFile(tb, uint64(4*(accepting+queued)+1024))
	f := fleet{accepting: map[string]bool{}, refused: map[string]bool{}, queued: map[string]bool{}}
	for range accepting {
		a := serve(tb, listen(tb, "tcp", "127.0.0.1:0"), answer(okResponse, 0))
		f.accepting[a] = true
	}
	for _, a := range fullQueuesTCP(tb, queued) {
		f.queued[a] = true
	}
	for _, a := range refusedAddrs(tb, "127.0.0.1", refused) {
		f.refused[a] = true
	}
	for _, m := range []map[string]bool{f.accepting, f.refused, f.queued} {
		for a := range m {
			f.targets = append(f.targets, tcpTarget("http", a))
		}
	}
	return f
}

func TestAll(t *testing.T) {
	const timeout = time.Second
	f := newFleet(t, 700, 200, 100)
	// Fewer workers than hanging targets: they hand their places on.
	tests := []struct{ workers int }{{256}, {0}, {8}}
	var fast []nginx.Target
	for _, tg := range f.targets {
		if !f.queued[tg.Address] {
			fast = append(fast, tg)
		}
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("workers=%d", tc.workers), func(t *testing.T) {
			// What the 900 quick targets cost on this machine (much more
			// under -race on a busy runner) is measured, not guessed; the
			// hanging ones may add only their deadline on top.
			start := time.Now()
			All(context.Background(), sys, fast, nil, timeout, tc.workers)
			base := time.Since(start)

			start = time.Now()
			got := All(context.Background(), sys, f.targets, nil, timeout, tc.workers)
			took := time.Since(start)
			t.Logf("%d targets, %d workers: %v (the %d quick ones alone: %v)", len(f.targets), tc.workers, took, len(fast), base)
			// Each worker waits a grace for every hanging target it starts.
			workers := cmp.Or(tc.workers, DefaultWorkers)
			graces := time.Duration((len(f.queued)+workers-1)/workers) * min(maxGrace, timeout/4)
			// How far above the deadline the whole run ends is a speed, measured
			// by BenchmarkAll and scripts/bench.sh, not asserted here.
			t.Logf("the deadline plus %d graces would be %v", (len(f.queued)+workers-1)/workers, base+timeout+graces)
			if took < timeout {
				t.Errorf("took %v, less than the %v deadline the full queues must use up", took, timeout)
			}
			if len(got) != len(f.targets) {
				t.Fatalf("got %d results, want %d", len(got), len(f.targets))
			}
			count := map[Status]int{}
			for addr, r := range got {
				count[r.Status]++
				switch {
				case f.accepting[addr]:
					if r.Status != Connected || r.HTTP == nil || r.HTTP.Status != 503 {
						t.Errorf("%s: got %s %+v, want connected with HTTP 503", addr, r.Status, r.HTTP)
					}
				case f.refused[addr]:
					if r.Status != Refused || r.HTTP != nil {
						t.Errorf("%s: got %s (http %v), want refused and no request", addr, r.Status, r.HTTP)
					}
				case f.queued[addr]:
					if r.Status != Timeout || r.HTTP != nil {
						t.Errorf("%s: got %s (http %v), want timeout and no request", addr, r.Status, r.HTTP)
					}
				}
			}
			t.Logf("results: %v", count)
		})
	}
}

func TestAllEdges(t *testing.T) {
	up := serve(t, listen(t, "tcp", "127.0.0.1:0"), answer(okResponse, 0))
	uwsgi := serve(t, listen(t, "tcp", "127.0.0.1:0"), answer(okResponse, 0))
	hosts := make(chan string, 4)
	named := serve(t, listen(t, "tcp", "127.0.0.1:0"), func(c net.Conn) {
		defer c.Close()
		hosts <- readRequest(c)
		c.Write([]byte(okResponse))
	})
	targets := []nginx.Target{
		tcpTarget("http", up),
		tcpTarget("http", up), // listed twice in the config: probed once
		tcpTarget("http", named),
		tcpTarget("uwsgi", uwsgi),
		{Kind: "http", Address: "$backend", Dynamic: true},
	}
	got := All(context.Background(), sys, targets, map[string]Ask{named: {Host: "shop.example"}}, time.Second, 0)
	if len(got) != 4 {
		t.Fatalf("got %d results, want 4 (one per address)", len(got))
	}
	if r := got[up]; r.Status != Connected || r.HTTP == nil || r.HTTP.Status != 503 {
		t.Errorf("%s: got %s %+v", up, r.Status, r.HTTP)
	}
	if req := <-hosts; !containsLine(req, "Host: shop.example") {
		t.Errorf("backend got %q, want the Host header given for its address", req)
	}
	if r := got[uwsgi]; r.Status != Connected || r.HTTP != nil {
		t.Errorf("uwsgi target: got %s %+v, want connected and no request", r.Status, r.HTTP)
	}
	if r := got["$backend"]; r.Status != Skipped {
		t.Errorf("dynamic target: got %s, want %s", r.Status, Skipped)
	}
}

func containsLine(s, line string) bool {
	for len(s) > 0 {
		var l string
		l, s, _ = cut(s, "\r\n")
		if l == line {
			return true
		}
	}
	return false
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func TestAllHonoursCancel(t *testing.T) {
	var targets []nginx.Target
	for _, a := range fullQueuesTCP(t, 10) {
		targets = append(targets, tcpTarget("http", a))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	got := All(ctx, sys, targets, nil, 10*time.Second, 2)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("canceled run took %v", took)
	}
	if len(got) != len(targets) {
		t.Fatalf("got %d results, want %d", len(got), len(targets))
	}
	for addr, r := range got {
		if r.Status != Skipped {
			t.Errorf("%s: got %s %q, want %s", addr, r.Status, r.Error, Skipped)
		}
	}
}

// countingSys counts the dials in progress, to see the socket cap hold.
type countingSys struct {
	testSys
	mu        sync.Mutex
	now, most int
}

func (s *countingSys) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.now--
		s.mu.Unlock()
	}()
	return s.testSys.Dial(ctx, network, address)
}

func TestAllCapsSockets(t *testing.T) {
	const workers, hanging = 2, 50
	var targets []nginx.Target
	for _, a := range fullQueuesTCP(t, hanging) {
		targets = append(targets, tcpTarget("http", a))
	}
	cs := &countingSys{}
	start := time.Now()
	got := All(context.Background(), cs, targets, nil, 400*time.Millisecond, workers)
	took := time.Since(start)
	if cs.most > socketsPerWorker*workers {
		t.Errorf("%d connects at once, want at most %d", cs.most, socketsPerWorker*workers)
	}
	if cs.most <= workers {
		t.Errorf("%d connects at once: hanging probes did not hand their workers on", cs.most)
	}
	// 50 hanging targets through 32 sockets take two deadlines, not 25: the
	// counts above show the hand-off; the time is logged, not asserted.
	t.Logf("took %v for %d hanging targets", took, hanging)
	for addr, r := range got {
		if r.Status != Timeout {
			t.Errorf("%s: got %s, want %s", addr, r.Status, Timeout)
		}
	}
}

// BenchmarkAll is the wall time of probing 1000 loopback targets: 700
// answering HTTP, 200 refusing, 100 behind full listen queues, timeout 1s.
func BenchmarkAll(b *testing.B) {
	f := newFleet(b, 700, 200, 100)
	for _, workers := range []int{0, 8, 256} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				All(context.Background(), sys, f.targets, nil, time.Second, workers)
			}
		})
	}
}
