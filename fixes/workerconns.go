package fixes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// maxHeld bounds the connections the verification opens at once: beyond
// it, ngxdoctor's own descriptors would be the limit tested.
const maxHeld = 2000

// planWorkerConns raises worker_connections when nginx ran out of them
// ("worker_connections are not enough"): doubled, and at least 1024; the
// open-files limit too when the workers' would not hold two descriptors
// per connection. A reload starts workers with the new number.
func planWorkerConns(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseNginxResources || c.Facts.Setting != "worker_connections" || o == nil || o.Snapshot == nil || o.Snapshot.Config == nil {
		return nil
	}
	cfg := o.Snapshot.Config
	wc := cfg.WorkerConnections
	want := max(2*wc, 1024)
	path := o.Snapshot.Install.Config
	t, err := filesOf(o).tree(path)
	if err != nil {
		return nil
	}
	var events *directive
	for _, d := range t.Top {
		if d.Name == "events" && d.Block != nil {
			events = d
		}
	}
	if events == nil {
		return nil
	}
	ed := t.insertFirst(path, events, "worker_connections", strconv.Itoa(want))
	for _, d := range events.Block {
		if d.Name == "worker_connections" {
			ed = t.setArgs(path, d, strconv.Itoa(want))
		}
	}
	edits := []Edit{ed}
	title := fmt.Sprintf("Raise worker_connections from %d to %d", wc, want)
	// Two descriptors per proxied connection: the open-files limit in
	// force (worker_rlimit_nofile, else the workers' own) must follow.
	lim, at := workerLimit(o), ""
	if d := cfg.RlimitNofile; len(d.Args) > 0 {
		n, err := strconv.ParseUint(d.Args[0], 10, 64)
		if err != nil {
			return nil
		}
		lim, at = n, d.At.String()
	}
	if lim > 0 && lim != host.Unlimited && lim < uint64(2*want) {
		files := (2*want/1024 + 1) * 1024
		red, ok := setMainDirective(o, at, "worker_rlimit_nofile", strconv.Itoa(files))
		if !ok {
			return nil
		}
		edits = append(edits, red)
		title += fmt.Sprintf(" and worker_rlimit_nofile from %d to %d", lim, files)
	}
	p := plan{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "worker-connections"),
			Title: title + ", and reload nginx",
			Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
			Warning: "Each connection costs a little memory (a few hundred bytes, more with buffers in use); " +
				"if the connections are slow clients or a slow backend, that is the problem to look at next.",
		},
		edits: edits, nginxEdits: true, revertible: true,
	}
	// Verified by holding more idle connections than the old workers
	// could, at the address the diagnosis asked nginx at.
	workers := max(len(o.Snapshot.Install.WorkerPIDs), 1)
	if n := wc*workers + 8; n <= maxHeld && len(o.Snapshot.Replays) > 0 {
		p.holdConns, p.holdAddr = n, o.Snapshot.Replays[0].Addr
	}
	return []plan{p}
}

// holdConnections opens n idle connections to addr at once and reports
// how many nginx closed unasked: a worker short of connections closes
// those still waiting for a request to make room ("reusing connections").
func holdConnections(ctx context.Context, addr string, n int) (closed int, err error) {
	var d net.Dialer
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("connection %d of %d to %s: %w", len(conns)+1, n, addr, err)
		}
		conns = append(conns, c)
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(500 * time.Millisecond):
	}
	buf := make([]byte, 1)
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++
		}
	}
	return closed, nil
}
