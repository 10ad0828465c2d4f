package logs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

var base = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func errLine(t time.Time, conn int) string {
	return fmt.Sprintf("%s [error] 812#812: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /down HTTP/1.1\", upstream: \"http://127.0.0.1:3999/\", host: \"127.0.0.1:8080\"\n",
		t.Format("2006/01/02 15:04:05"), conn)
}

func writeLog(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "error.log")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// minuteLog writes one line per second for d, starting at base.
func minuteLog(d time.Duration) (string, []time.Time) {
	var b strings.Builder
	var times []time.Time
	for s := time.Duration(0); s < d; s += time.Second {
		ts := base.Add(s)
		b.WriteString(errLine(ts, int(s/time.Second)))
		times = append(times, ts)
	}
	return b.String(), times
}

func inWindow(times []time.Time, since time.Time) int {
	n := 0
	for _, ts := range times {
		if !ts.Before(since) {
			n++
		}
	}
	return n
}

func read(t *testing.T, path string, since time.Time) ErrorLog {
	t.Helper()
	got, err := ReadErrorLog(context.Background(), disk, path, since)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	for _, e := range got.Entries {
		if e.Time.Before(since) {
			t.Errorf("got entry at %v, before since %v", e.Time, since)
		}
	}
	return got
}

func TestReadErrorLogWindow(t *testing.T) {
	content, times := minuteLog(2 * time.Hour)
	path := writeLog(t, content)
	tests := []struct {
		name  string
		since time.Time
	}{
		{"last 15 minutes", base.Add(2*time.Hour - 15*time.Minute)},
		{"the first second", base},
		{"before the log", base.Add(-time.Hour)},
		{"mid-file", base.Add(37*time.Minute + 13*time.Second)},
		{"after the log", base.Add(3 * time.Hour)},
		{"the last second", base.Add(2*time.Hour - time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := read(t, path, tt.since)
			want := inWindow(times, tt.since)
			if got.LinesRead != want || len(got.Entries) != want || got.Unparsed != 0 {
				t.Errorf("got %d lines read, %d entries, %d unparsed; want %d, %d, 0", got.LinesRead, len(got.Entries), got.Unparsed, want, want)
			}
			if want > 0 && !got.Entries[0].Time.Equal(times[len(times)-want]) {
				t.Errorf("got first entry at %v, want %v", got.Entries[0].Time, times[len(times)-want])
			}
			if len(got.Counts) > 0 && (got.Counts[0].Lines != want || got.Counts[0].Target != "127.0.0.1:3999" || got.Counts[0].Class != Refused) {
				t.Errorf("got counts %+v, want %d refused at 127.0.0.1:3999", got.Counts, want)
			}
		})
	}
}

func TestReadErrorLogCostFollowsWindow(t *testing.T) {
	content, _ := minuteLog(10 * time.Hour) // ~2.2 MB
	path := writeLog(t, content)
	since := base.Add(10*time.Hour - 2*time.Minute)
	got := read(t, path, since)
	window := int64(120 * len(errLine(base, 1000)))
	if got.BytesRead > window+256<<10 {
		t.Errorf("got %d bytes read of %d for a %d-byte window, want about the window", got.BytesRead, len(content), window)
	}
}

func TestReadErrorLogDirty(t *testing.T) {
	since := base.Add(30 * time.Minute)
	var b strings.Builder
	wantLines, wantUnparsed, wantEntries := 0, 0, 0
	// Lines every second for an hour, with garbage sprinkled in: binary
	// bytes, NULs, a 5000-byte line, a stack trace, a 5000-byte log line.
	garbage := []string{
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n",
		"\xff\xfe\xfd binary \x01\x02\x03 \xc3\x28\n",
		strings.Repeat("x", 5000) + "\n",
		"PHP message: PHP Stack trace:\n",
		"2026/11/24 0\n", // a line cut in its stamp
	}
	for s := 0; s < 3600; s++ {
		ts := base.Add(time.Duration(s) * time.Second)
		in := !ts.Before(since)
		line := errLine(ts, s)
		if s%600 == 300 {
			line = strings.Replace(line, `host: "127.0.0.1:8080"`, `host: "`+strings.Repeat("h", 5000)+`"`, 1)
		}
		b.WriteString(line)
		if in {
			wantLines++
			wantEntries++
		}
		if s%97 == 0 {
			g := garbage[(s/97)%len(garbage)]
			b.WriteString(g)
			if in {
				wantLines++
				wantUnparsed++
			}
		}
	}
	path := writeLog(t, b.String())
	got := read(t, path, since)
	if got.LinesRead != wantLines || got.Unparsed != wantUnparsed || len(got.Entries) != wantEntries {
		t.Errorf("got %d lines, %d unparsed, %d entries; want %d, %d, %d", got.LinesRead, got.Unparsed, len(got.Entries), wantLines, wantUnparsed, wantEntries)
	}
	for _, e := range got.Entries {
		if e.Class != Refused || e.Target != "127.0.0.1:3999" {
			t.Fatalf("got %q at %q from %q, want refused at 127.0.0.1:3999", e.Class, e.Target, e.Raw)
		}
		if len(e.Raw) > MaxLineBytes {
			t.Fatalf("got a raw line of %d bytes, want at most %d", len(e.Raw), MaxLineBytes)
		}
	}
}

func TestReadErrorLogEdges(t *testing.T) {
	old, oldTimes := minuteLog(time.Hour)
	tests := []struct {
		name     string
		content  string
		since    time.Time
		lines    int
		unparsed int
		entries  int
	}{
		{"empty file", "", base, 0, 0, 0},
		{"empty file, all", "", time.Time{}, 0, 0, 0},
		{"no timestamps", strings.Repeat("just some text\n", 20000), base, 0, 0, 0},
		{"no timestamps, all", strings.Repeat("just some text\n", 20000), time.Time{}, 20000, 20000, 0},
		{"all older", old, base.Add(2 * time.Hour), 0, 0, 0},
		{"all, since zero", old, time.Time{}, len(oldTimes), 0, len(oldTimes)},
		{"no final newline", strings.TrimSuffix(old, "\n"), base.Add(time.Hour - time.Second), 1, 0, 1},
		{"blank lines", "\n\n" + errLine(base, 1) + "\r\n\n", base, 1, 0, 1},
		{"a line longer than a chunk", errLine(base, 1) + strings.Repeat("z", 600<<10) + "\n" + errLine(base, 2), base, 3, 1, 2},
		{"only binary", strings.Repeat("\x00\xff\x13", 100000), base, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := read(t, writeLog(t, tt.content), tt.since)
			if got.LinesRead != tt.lines || got.Unparsed != tt.unparsed || len(got.Entries) != tt.entries {
				t.Errorf("got %d lines, %d unparsed, %d entries; want %d, %d, %d", got.LinesRead, got.Unparsed, len(got.Entries), tt.lines, tt.unparsed, tt.entries)
			}
			if got.Entries == nil || got.Counts == nil {
				t.Errorf("got nil entries or counts, want empty lists (JSON [] not null)")
			}
		})
	}
}

// A clock jump or rotated files joined together: times go backwards. Lines
// may be missed, but none older than since is ever counted.
func TestReadErrorLogNonMonotonic(t *testing.T) {
	first, _ := minuteLog(time.Hour)
	var b strings.Builder
	b.WriteString(first)
	for s := 0; s < 1800; s++ { // an older file appended
		b.WriteString(errLine(base.Add(-2*time.Hour+time.Duration(s)*time.Second), s))
	}
	for s := 0; s < 600; s++ {
		b.WriteString(errLine(base.Add(time.Hour+time.Duration(s)*time.Second), s))
	}
	path := writeLog(t, b.String())
	for _, since := range []time.Time{base.Add(-time.Hour), base.Add(30 * time.Minute), base.Add(65 * time.Minute)} {
		got := read(t, path, since)
		if got.LinesRead != len(got.Entries) {
			t.Errorf("since %v: got %d lines but %d entries, want equal", since, got.LinesRead, len(got.Entries))
		}
	}
	got := read(t, path, base.Add(65*time.Minute))
	if got.LinesRead != 300 {
		t.Errorf("got %d lines in the last 5 minutes, want 300", got.LinesRead)
	}
}

func TestReadErrorLogKeepsNewest(t *testing.T) {
	oldEntries, oldRaw := maxEntries, maxRawBytes
	t.Cleanup(func() { maxEntries, maxRawBytes = oldEntries, oldRaw })
	content, times := minuteLog(time.Hour)
	path := writeLog(t, content)
	lineLen := len(errLine(base, 1000))
	tests := []struct {
		name     string
		entries  int
		raw      int
		wantKept int
	}{
		{"by count", 100, 1 << 20, 100},
		{"by bytes", 100000, 50 * lineLen, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxEntries, maxRawBytes = tt.entries, tt.raw
			got := read(t, path, time.Time{})
			if len(got.Entries) != tt.wantKept || got.Dropped != len(times)-tt.wantKept || got.LinesRead != len(times) {
				t.Fatalf("got %d entries, %d dropped, %d lines; want %d, %d, %d", len(got.Entries), got.Dropped, got.LinesRead, tt.wantKept, len(times)-tt.wantKept, len(times))
			}
			if last := got.Entries[len(got.Entries)-1].Time; !last.Equal(times[len(times)-1]) {
				t.Errorf("got last entry at %v, want the newest line %v", last, times[len(times)-1])
			}
			if first := got.Entries[0].Time; !first.Equal(times[len(times)-tt.wantKept]) {
				t.Errorf("got first entry at %v, want %v", first, times[len(times)-tt.wantKept])
			}
			if len(got.Counts) != 1 || got.Counts[0].Lines != len(times) || !got.Counts[0].First.Equal(times[0]) || !got.Counts[0].Last.Equal(times[len(times)-1]) {
				t.Errorf("got counts %+v, want every line counted", got.Counts)
			}
		})
	}
}

// A window bigger than the byte cap, mostly garbage: every dated line is
// still kept, none dropped.
func TestReadErrorLogBigWindowFewLines(t *testing.T) {
	oldRaw := maxRawBytes
	t.Cleanup(func() { maxRawBytes = oldRaw })
	maxRawBytes = 10 << 10
	var b strings.Builder
	for s := 0; s < 5; s++ {
		b.WriteString(errLine(base.Add(time.Duration(s)*time.Second), s))
		b.WriteString(strings.Repeat("garbage \xff\n", 500))
	}
	got := read(t, writeLog(t, b.String()), time.Time{})
	if len(got.Entries) != 5 || got.Dropped != 0 || got.Unparsed != 2500 {
		t.Errorf("got %d entries, %d dropped, %d unparsed; want 5, 0, 2500", len(got.Entries), got.Dropped, got.Unparsed)
	}
}

func TestReadErrorLogErrors(t *testing.T) {
	content, _ := minuteLog(time.Hour)
	path := writeLog(t, content)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadErrorLog(ctx, disk, path, base.Add(30*time.Minute)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
	if _, err := ReadErrorLog(ctx, disk, path, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled, all: got %v, want context.Canceled", err)
	}
	if _, err := ReadErrorLog(context.Background(), disk, filepath.Join(t.TempDir(), "none.log"), base); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestReadErrorLogLocalTime(t *testing.T) {
	// nginx in UTC+2 wrote 05:00..05:59 local: 03:00..03:59 UTC.
	loc := time.FixedZone("EET", 2*3600)
	var b strings.Builder
	for s := 0; s < 3600; s++ {
		b.WriteString(errLine(base.Add(2*time.Hour+time.Duration(s)*time.Second), s))
	}
	path := writeLog(t, b.String())
	got, err := ReadErrorLog(context.Background(), host.InZone(host.Live(), loc), path, base.Add(50*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.LinesRead != 600 {
		t.Errorf("got %d lines, want 600 (the last 10 minutes in UTC+2)", got.LinesRead)
	}
}

// Reading a big range on several CPUs must give what one reader gives,
// garbage at the cuts included.
func TestReadErrorLogSplitSameAsOne(t *testing.T) {
	oldMin, oldEntries := parallelMin, maxEntries
	oldProcs := runtime.GOMAXPROCS(5)
	t.Cleanup(func() { parallelMin, maxEntries = oldMin, oldEntries; runtime.GOMAXPROCS(oldProcs) })
	var b strings.Builder
	for s := 0; s < 3600; s++ {
		ts := base.Add(time.Duration(s) * time.Second)
		if s%700 == 350 {
			ts = ts.Add(-time.Hour) // a clock jump back
		}
		b.WriteString(errLine(ts, s))
		for g := 0; g < s%4; g++ {
			b.WriteString("garbage line \x00\xff\n")
		}
	}
	path := writeLog(t, b.String())
	for _, since := range []time.Time{{}, base.Add(10 * time.Minute), base.Add(59 * time.Minute)} {
		for _, keep := range []int{100000, 500} {
			maxEntries = keep
			parallelMin = 1 << 40
			one := read(t, path, since)
			parallelMin = 1
			many := read(t, path, since)
			one.BytesRead, many.BytesRead = 0, 0 // the cuts cost a few reads
			if !reflect.DeepEqual(one, many) {
				t.Errorf("since %v, keep %d: got %d lines %d unparsed %d entries %d dropped %d counts on 5 CPUs, want %d %d %d %d %d",
					since, keep, many.LinesRead, many.Unparsed, len(many.Entries), many.Dropped, len(many.Counts),
					one.LinesRead, one.Unparsed, len(one.Entries), one.Dropped, len(one.Counts))
				if !reflect.DeepEqual(one.Counts, many.Counts) {
					t.Errorf("got counts %+v, want %+v", many.Counts, one.Counts)
				}
				for i := range min(len(one.Entries), len(many.Entries)) {
					if one.Entries[i] != many.Entries[i] {
						t.Errorf("entry %d: got %+v, want %+v", i, many.Entries[i], one.Entries[i])
						break
					}
				}
			}
		}
	}
}
