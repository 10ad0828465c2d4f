package probe

import (
	"context"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// DefaultWorkers is how many probes All starts side by side when given no
// number.
const DefaultWorkers = 64

// socketsPerWorker bounds the probes holding a socket at once to
// socketsPerWorker × workers (1024 by default): ngxdoctor must not run
// out of descriptors, nor flood a struggling backend.
const socketsPerWorker = 16

// maxGrace is how long a worker waits for its probe before starting the
// next: loopback and LAN probes end within milliseconds, so a probe still
// running has most likely met a full listen queue, a DROP rule or a
// backend that never answers, and would otherwise hold its worker for the
// whole deadline and make hanging targets wait their deadlines in turn.
const maxGrace = 100 * time.Millisecond

// All probes every target and returns the results keyed by Target.Address
// (a target listed twice is probed once). Each target has its own deadline
// of timeout for the connect and, once connected, its own wait for the
// answer to asks[t.Address] (see Ask; nginx's default request when absent).
//
// workers (DefaultWorkers when <= 0) probes start side by side; one still
// running after a short grace (100ms, at most timeout/4) hands its worker
// on and keeps its socket, up to 16 × workers sockets. So hanging targets
// (black-holed backends, full queues) wait out their deadlines together:
// the wall time is about timeout plus one grace per workers hanging
// targets (plus the wait for a target that connects and then answers
// slowly). Targets not started when ctx is canceled are Skipped.
func All(ctx context.Context, sys host.System, targets []nginx.Target, asks map[string]Ask, timeout time.Duration, workers int) map[string]Result {
	if workers <= 0 {
		workers = DefaultWorkers
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	grace := min(maxGrace, timeout/4)
	seen := make(map[string]bool, len(targets))
	jobs := make([]nginx.Target, 0, len(targets))
	for _, t := range targets {
		if !seen[t.Address] {
			seen[t.Address] = true
			jobs = append(jobs, t)
		}
	}

	results := make([]Result, len(jobs))
	started := make([]bool, len(jobs))
	sockets := make(chan struct{}, socketsPerWorker*workers)
	next := make(chan int)
	var workersDone, probes sync.WaitGroup
	for range min(workers, len(jobs)) {
		workersDone.Go(func() {
			for i := range next {
				select {
				case sockets <- struct{}{}:
				case <-ctx.Done():
					results[i] = canceled(ctx.Err())
					continue
				}
				done := make(chan struct{})
				probes.Go(func() {
					defer func() { <-sockets; close(done) }()
					results[i] = probeOne(ctx, sys, jobs[i], asks[jobs[i].Address], timeout)
				})
				wait := time.NewTimer(grace)
				select {
				case <-done:
				case <-wait.C:
				}
				wait.Stop()
			}
		})
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
			started[i] = true
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	workersDone.Wait()
	probes.Wait()

	out := make(map[string]Result, len(jobs))
	for i, t := range jobs {
		if !started[i] {
			results[i] = canceled(ctx.Err())
		}
		out[t.Address] = results[i]
	}
	return out
}

// probeOne connects and, when connected, makes the request on the same
// connection, as nginx does.
func probeOne(ctx context.Context, sys host.System, t nginx.Target, ask Ask, timeout time.Duration) Result {
	conn, res, p := dial(ctx, sys, t, timeout)
	if conn == nil {
		return res
	}
	defer conn.Close()
	res.HTTP = exchange(ctx, conn, p, t, ask, timeout)
	return res
}
