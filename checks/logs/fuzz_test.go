package logs

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseErrorLine(f *testing.F) {
	b, err := os.ReadFile("testdata/messages.log")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f.Add([]byte(l))
	}
	f.Add([]byte("2026/11/24 05:13:28 [error] 1#1: *1 x, client: , upstream: \""))
	f.Add([]byte("2026/11/24 05:13:28 [error] 1#1: *1 connect() to "))
	f.Fuzz(func(t *testing.T, l []byte) {
		e, ok := ParseErrorLine(l, time.UTC)
		if !ok {
			return
		}
		if !utf8.ValidString(e.Raw) || len(e.Raw) > 3*MaxLineBytes {
			t.Fatalf("got raw %q, want valid UTF-8 within the cut", e.Raw)
		}
		if e.Class == "" {
			t.Fatal("got no class, want one (other at worst)")
		}
		for _, s := range []string{e.Message, e.Phase, e.Target, e.Upstream, e.Client, e.Request, e.Host, e.Server} {
			if !strings.Contains(e.Raw, s) {
				t.Fatalf("got field %q that is not in the line %q", s, e.Raw)
			}
		}
	})
}

func FuzzReadErrorLog(f *testing.F) {
	// Small buffers make small inputs cross chunk and probe boundaries, and
	// keep inputs small enough for the fuzzer to minimize them quickly.
	oldChunk, oldProbe, oldMin := chunkSize, probeSize, parallelMin
	chunkSize, probeSize, parallelMin = 700, 256, 1<<40
	f.Cleanup(func() { chunkSize, probeSize, parallelMin = oldChunk, oldProbe, oldMin })
	content, _ := minuteLog(20 * time.Second)
	f.Add([]byte(content), int64(10))
	f.Add([]byte(content), int64(-1))
	f.Add([]byte("\x00\n\xff\n"+errLine(base, 1)), int64(0))
	f.Add([]byte(errLine(base.Add(time.Hour), 1)+errLine(base, 2)), int64(30*60))
	f.Fuzz(func(t *testing.T, data []byte, offset int64) {
		sys, path := memSystem{System: disk, data: data}, "fuzz.log"
		var since time.Time
		if offset >= 0 {
			since = base.Add(time.Duration(offset%(48*3600)) * time.Second)
		}
		got, err := ReadErrorLog(context.Background(), sys, path, since)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		for _, e := range got.Entries {
			if e.Time.Before(since) {
				t.Fatalf("got entry at %v before since %v", e.Time, since)
			}
			if !utf8.ValidString(e.Raw) || strings.ContainsRune(e.Raw, 0) {
				t.Fatalf("got raw %q, want clean UTF-8", e.Raw)
			}
		}
		if got.LinesRead < len(got.Entries)+got.Unparsed || got.BytesRead < 0 {
			t.Fatalf("got %d lines for %d entries and %d unparsed", got.LinesRead, len(got.Entries), got.Unparsed)
		}
		// Split over CPUs, the same file must read the same.
		parallelMin = 1
		split, err := ReadErrorLog(context.Background(), sys, path, since)
		parallelMin = 1 << 40
		if err != nil {
			t.Fatalf("split: got error %v, want none", err)
		}
		got.BytesRead, split.BytesRead = 0, 0
		if !reflect.DeepEqual(got, split) {
			t.Fatalf("split: got %d lines %d unparsed %d entries, want %d %d %d",
				split.LinesRead, split.Unparsed, len(split.Entries), got.LinesRead, got.Unparsed, len(got.Entries))
		}
		if _, err := ReadAccessLog(context.Background(), sys, path, since); err != nil {
			t.Fatalf("access: got error %v, want none", err)
		}
	})
}

// A line parsed after another (whose message parseLine remembers) must
// parse as it does alone.
func FuzzParseAfter(f *testing.F) {
	b, err := os.ReadFile("testdata/messages.log")
	if err != nil {
		f.Fatal(err)
	}
	ls := strings.Split(string(b), "\n")
	for i := range ls {
		f.Add([]byte(ls[i]), []byte(ls[(i+1)%len(ls)]))
		f.Add([]byte(ls[i]), []byte(strings.Replace(ls[i], ", upstream: ", ", x: ", 1)))
	}
	f.Add([]byte(`2026/11/24 05:13:28 [error] 1#1: *1 connect() to 127.0.0.1:1 failed (111: Connection refused) while connecting to upstream, client: 1, upstream: "http://127.0.0.1:2/"`),
		[]byte(`2026/11/24 05:13:28 [error] 1#1: *2 connect() to 127.0.0.1:1 failed (111: Connection refused) while connecting to upstream, client: 1`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		a, b = trimLine(a), trimLine(b)
		c := stampCache{loc: time.UTC}
		var p, alone line
		parseLine(a, &c, &p)
		okAfter := parseLine(b, &c, &p)
		fresh := stampCache{loc: time.UTC}
		okAlone := parseLine(b, &fresh, &alone)
		if okAfter != okAlone || okAlone && p != alone {
			t.Fatalf("after %q:\n got %+v\nwant %+v", a, p, alone)
		}
	})
}
