package checks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// Occurrences are the number of lines a cause explains, however many more
// there are than the sample of entries keeps, and a timeout while
// connecting is told from one while reading by the same counts.
func TestOccurrencesAreExact(t *testing.T) {
	const refused, connectTimeouts, readTimeouts, noise = 25_000, 700, 1_300, 5_000
	var b bytes.Buffer
	at := now.Add(-10 * time.Minute)
	stamp := func(i int) string {
		return at.Add(time.Duration(i) * 10 * time.Millisecond).Format("2006/01/02 15:04:05")
	}
	for i := range refused + connectTimeouts + readTimeouts {
		if i%5 == 0 && i/5 < noise {
			fmt.Fprintf(&b, "%s [info] 9#9: *%d client prematurely closed connection while sending response to client, client: 10.0.0.1, server: x\n", stamp(i), i)
			fmt.Fprintf(&b, "garbage \x00 line %d\n", i)
		}
		switch {
		case i < refused:
			fmt.Fprintf(&b, "%s [error] 9#9: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.%d, server: x, request: \"GET /a%d HTTP/1.1\", upstream: \"http://127.0.0.1:3001/a%d\", host: \"x\"\n", stamp(i), i, i%250, i, i)
		case i < refused+connectTimeouts:
			fmt.Fprintf(&b, "%s [error] 9#9: *%d upstream timed out (110: Connection timed out) while connecting to upstream, client: 10.0.0.1, server: x, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"x\"\n", stamp(i), i)
		default:
			fmt.Fprintf(&b, "%s [error] 9#9: *%d upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: x, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"x\"\n", stamp(i), i)
		}
	}
	path := filepath.Join(t.TempDir(), "error.log")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := logs.ReadErrorLog(context.Background(), host.InZone(host.Live(), time.UTC), path, now.Add(-15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if l.Dropped == 0 {
		t.Fatalf("got all %d entries kept, want a log bigger than the sample", len(l.Entries))
	}

	down := tcp3000
	down.Address, down.Port = "127.0.0.1:3001", 3001
	s := snap(tcp3000)
	s.Targets = append(s.Targets, down)
	s.Targets[1].Passes = []int{0}
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	s.Probes[down.Address] = probe.Result{Status: probe.Refused, Errno: 111}
	s.ErrorLogs = []logs.ErrorLog{l}
	got := map[string]int{}
	connecting := 0
	for _, c := range Diagnose(s) {
		got[string(c.ID)+" "+c.Target] = c.Occurrences
		if c.Target == tcp3000.Address && c.ID != CauseUpstreamTimeout {
			connecting += c.Occurrences
		}
		if q := strings.Count(strings.Join(c.Evidence, "\n"), "error.log: "); c.Occurrences > 0 && q > maxEvidenceLines {
			t.Errorf("%s quotes %d lines, want at most %d", c.ID, q, maxEvidenceLines)
		}
	}
	want := map[string]int{
		"backend-down 127.0.0.1:3001":     refused,
		"upstream-timeout 127.0.0.1:3000": readTimeouts,
	}
	if connecting != connectTimeouts {
		t.Errorf("got %d occurrences of timeouts while connecting (all causes: %v), want %d", connecting, got, connectTimeouts)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: got %d occurrences, want %d (all causes: %v)", k, got[k], n, got)
		}
	}
	if n := bytes.Count(b.Bytes(), []byte("upstream:")); got["backend-down 127.0.0.1:3001"]+connecting+got["upstream-timeout 127.0.0.1:3000"] != n {
		t.Errorf("got %v, want the %d lines that name an upstream", got, n)
	}
}
