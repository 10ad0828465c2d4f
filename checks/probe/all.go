package probe

import (
	"context"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// DefaultWorkers bounds the probes in flight when All is given no bound:
// each holds a socket, and ngxdoctor must not run out of descriptors or
// flood a struggling backend.
const DefaultWorkers = 64

// All probes every target, at most workers at a time, and returns the
// results keyed by Target.Address (a target listed twice is probed once).
// Each target has its own deadline of timeout for the connect and, once
// connected, another for the request, which is made with the Host header
// hostHeaders[t.Address] (nginx's $proxy_host when empty).
//
// Wall time is about timeout × ceil(hanging/workers), where hanging are
// targets that use the whole deadline (a full listen queue, a DROP rule):
// refusals and answers take microseconds. Targets not started when ctx is
// canceled are Skipped.
func All(ctx context.Context, sys host.System, targets []nginx.Target, hostHeaders map[string]string, timeout time.Duration, workers int) map[string]Result {
	if workers <= 0 {
		workers = DefaultWorkers
	}
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
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for i := range next {
				results[i] = probeOne(ctx, sys, jobs[i], hostHeaders[jobs[i].Address], timeout)
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
	wg.Wait()

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
func probeOne(ctx context.Context, sys host.System, t nginx.Target, hostHeader string, timeout time.Duration) Result {
	conn, res, p := dial(ctx, sys, t, timeout)
	if conn == nil {
		return res
	}
	defer conn.Close()
	res.HTTP = exchange(ctx, conn, p, t, hostHeader, timeout)
	return res
}
