package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

const (
	// maxCounts bounds the distinct (class, target) pairs tallied, so a log
	// full of random host names cannot grow memory without end.
	maxCounts = 10_000
)

// Sizes; variables so that tests and fuzzing can make them small.
var (
	// chunkSize is how much is read at a time going forward.
	chunkSize = 256 << 10
	// probeSize is how much one binary-search step reads; it should hold
	// several whole lines so a probe finds a timestamp.
	probeSize = 16 << 10

	// maxEntries and maxRawBytes bound the sample ReadErrorLog keeps of a
	// big window (--since all on a big log): the newest lines are kept,
	// the rest only counted (ErrorLog.Dropped, ErrorLog.Counts). Counts
	// are exact, so the sample only needs to show what the lines look like.
	maxEntries  = 10_000
	maxRawBytes = 4 << 20
	// maxExampleBytes bounds the raw lines the counts keep as examples.
	maxExampleBytes = 1 << 20
)

// stampFunc reads the time of a log line; false when the line has none.
type stampFunc func(l []byte) (time.Time, bool)

// seekSince returns an offset at a line start from which every line at or
// after since follows, if the log's times only go forward. It probes by
// binary search over byte offsets, so its cost follows log2 of the size.
// A clock jump may make it land late (lines are missed), but never early
// in a way that matters: readers still filter every line by its time.
func seekSince(ctx context.Context, f host.File, size int64, since time.Time, stamp stampFunc, read *int64) (int64, error) {
	var lo, hi int64 = 0, size
	buf := make([]byte, probeSize)
	for hi-lo > int64(probeSize) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		mid := lo + (hi-lo)/2
		n, err := f.ReadAt(buf, mid)
		*read += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read at %d: %w", mid, err)
		}
		at, t, ok := firstStamp(buf[:n], stamp)
		switch {
		case !ok || mid+int64(at) >= hi:
			// Nothing datable between mid and hi: search below; reading
			// more than needed is harmless, the filter drops old lines.
			hi = mid
		case t.Before(since):
			lo = mid + int64(at)
		default:
			hi = mid
		}
	}
	return lo, nil
}

// firstStamp finds the first whole line in b (b starts mid-line) that has a time.
func firstStamp(b []byte, stamp stampFunc) (int, time.Time, bool) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return 0, time.Time{}, false
	}
	for i := nl + 1; i < len(b); {
		e := bytes.IndexByte(b[i:], '\n')
		if e < 0 {
			// The tail may be a line cut by the buffer; its stamp, at its
			// start, may still be whole.
			e = len(b) - i
		}
		if t, ok := stamp(b[i : i+e]); ok {
			return i, t, true
		}
		i += e + 1
	}
	return 0, time.Time{}, false
}

// lines calls fn for each line of f in [from, to), cut to MaxLineBytes and
// without its line ending, with the line's offset. It checks ctx between
// chunks and keeps memory to one chunk whatever the line lengths.
func lines(ctx context.Context, f host.File, from, to int64, read *int64, fn func(l []byte, off int64)) error {
	buf := make([]byte, chunkSize)
	pos := from   // file offset of buf[0]
	have := 0     // bytes valid in buf
	skip := false // inside an over-long line, dropping bytes up to its end
	for pos+int64(have) < to {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := min(int64(len(buf)-have), to-pos-int64(have))
		n, err := f.ReadAt(buf[have:have+int(want)], pos+int64(have))
		*read += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read at %d: %w", pos+int64(have), err)
		}
		if n == 0 {
			break // the file shrank (truncated by rotation): stop at what is there
		}
		have += n
		i := 0
		for {
			e := bytes.IndexByte(buf[i:have], '\n')
			if e < 0 {
				break
			}
			if skip {
				skip = false
			} else {
				fn(trimLine(buf[i:i+e]), pos+int64(i))
			}
			i += e + 1
		}
		if i == 0 && have == len(buf) {
			// One line fills the buffer: keep its head, drop the rest.
			if !skip {
				fn(trimLine(buf[:have]), pos)
			}
			skip = true
			i = have
		}
		copy(buf, buf[i:have])
		have -= i
		pos += int64(i)
	}
	if have > 0 && !skip {
		fn(trimLine(buf[:have]), pos)
	}
	return nil
}

// ReadErrorLog reads the lines of the error log at path written at or after
// since (since.IsZero(): the whole file), parsing times in sys.Location().
// The cost follows the window, not the file: it seeks to since by binary
// search, and reads a big window on every CPU. Memory stays bounded for any
// size: past 100,000 entries the newest entries are kept and the rest
// counted in Dropped and Counts.
func ReadErrorLog(ctx context.Context, sys host.System, path string, since time.Time) (ErrorLog, error) {
	out := ErrorLog{Path: path, Entries: []Entry{}, Counts: []Count{}}
	f, err := sys.Open(path)
	if err != nil {
		return out, fmt.Errorf("open error log: %w", err)
	}
	defer f.Close()
	size := f.Size()
	loc := locOrLocal(sys.Location())
	until := sys.Now().Add(SkewTolerance)

	var start int64
	if !since.IsZero() {
		cache := stampCache{loc: loc}
		stamp := func(l []byte) (time.Time, bool) { return cache.errorStamp(l) }
		start, err = seekSince(ctx, f, size, since, stamp, &out.BytesRead)
		if err != nil {
			return out, fmt.Errorf("read error log %s: %w", path, err)
		}
	}

	bounds, err := split(ctx, f, start, size, &out.BytesRead)
	if err != nil {
		return out, fmt.Errorf("read error log %s: %w", path, err)
	}
	readers := make([]*errorReader, len(bounds)-1)
	errs := make([]error, len(readers))
	var wg sync.WaitGroup
	for k := range readers {
		r := newErrorReader(since, until, loc)
		// A range larger than the byte cap will most likely overflow it:
		// then entries are built only in the second pass, for the newest
		// lines, instead of being built and thrown away.
		// Ranges read apart always build their entries afterwards.
		r.overflow = size-start > int64(maxRawBytes) || len(readers) > 1
		r.leadUnknown = k > 0 && !since.IsZero()
		// Size the ring once (lines are rarely under 100 bytes): growing
		// it by appends copied it over and over on big windows.
		r.ring = make([]kept, 0, min(int64(maxEntries), (bounds[k+1]-bounds[k])/100+1))
		readers[k] = r
		wg.Go(func() { errs[k] = lines(ctx, f, bounds[k], bounds[k+1], &r.read, r.add) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("read error log %s: %w", path, err)
	}

	first := readers[0]
	inWin := first.inWin
	parsed := 0
	for k, r := range readers {
		out.BytesRead += r.read
		out.LinesRead += r.lines
		out.Unparsed += r.unparsed
		parsed += r.parsed
		out.Future += r.future
		out.FutureLast = later(out.FutureLast, r.futureLast)
		// Garbage at the head of a segment takes the window of the line
		// before it, which the segment before knows.
		if inWin {
			out.LinesRead += r.lead
			out.Unparsed += r.lead
		}
		if r.sawParsed {
			inWin = r.inWin
		}
		if k > 0 {
			first.merge(r)
		}
	}
	if first.overflow {
		// Read again from the oldest of the newest lines that fit the
		// caps, keeping every one.
		from, fit := newestFrom(readers)
		r := newErrorReader(since, until, loc)
		r.fit, r.blockCap = fit, fit
		r.blocks = [][]Entry{make([]Entry, 0, fit)}
		if fit > 0 {
			if err := lines(ctx, f, from, size, &out.BytesRead, r.materialize); err != nil {
				return out, fmt.Errorf("read error log %s: %w", path, err)
			}
		}
		out.Entries = r.entries()
	} else {
		out.Entries = first.entries()
	}
	out.Dropped = parsed - len(out.Entries)
	out.Counts = first.countList()
	return out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parallelMin is the range from which reading is split over the CPUs.
var parallelMin int64 = 64 << 20

// split cuts [from, to) at line starts into one range per CPU (one range
// when it is small) and returns the bounds.
func split(ctx context.Context, f host.File, from, to int64, read *int64) ([]int64, error) {
	n := min(runtime.GOMAXPROCS(0), 8)
	if to-from < parallelMin || n < 2 {
		return []int64{from, to}, nil
	}
	bounds := []int64{from}
	step := (to - from) / int64(n)
	buf := make([]byte, 64<<10)
	for k := 1; k < n; k++ {
		// The line start at or after the cut: just after a newline.
		at := from + int64(k)*step - 1
		if at < from {
			continue // from itself starts a line
		}
		for at < to {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			m, err := f.ReadAt(buf, at)
			*read += int64(m)
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("read at %d: %w", at, err)
			}
			if i := bytes.IndexByte(buf[:m], '\n'); i >= 0 {
				at += int64(i) + 1
				break
			}
			if m == 0 {
				at = to
				break
			}
			at += int64(m)
		}
		if at > bounds[len(bounds)-1] && at < to {
			bounds = append(bounds, at)
		}
	}
	return append(bounds, to), nil
}

type kept struct {
	off int64
	n   int
}

// errorReader holds the state of one pass over (a range of) an error log.
type errorReader struct {
	since time.Time
	// until is the host's clock plus SkewTolerance; later lines are
	// counted in future, not in the window.
	until      time.Time
	future     int
	futureLast time.Time
	cache      stampCache
	p          line

	read     int64
	lines    int
	unparsed int
	parsed   int
	inWin    bool
	// leadUnknown: this range starts in the middle of the window, and
	// whether its leading garbage lines count is up to the range before it.
	leadUnknown bool
	lead        int
	sawParsed   bool

	// ring holds the offset and size of the newest parsed lines in the
	// window, enough to find where the entries kept after an overflow start.
	ring []kept
	head int
	// overflow: entries are not built in this pass (too many for the caps).
	overflow bool
	fit      int

	// Entries are built in blocks and joined once: appending to one slice
	// would copy it again and again as it grows.
	blocks   [][]Entry
	blockCap int
	n        int
	raw      int

	// counts are keyed by class, target and phase, NUL between them.
	counts  map[string]*Count
	ncounts int
	key     []byte
	last    *Count
	// exampleBytes is what the counts' examples hold.
	exampleBytes int
}

func newErrorReader(since, until time.Time, loc *time.Location) *errorReader {
	return &errorReader{
		since: since, until: until, cache: stampCache{loc: loc},
		counts: map[string]*Count{}, blockCap: 1024, fit: maxEntries,
	}
}

func (r *errorReader) add(l []byte, off int64) {
	if len(l) == 0 {
		return
	}
	if !parseLine(l, &r.cache, &r.p) {
		// Garbage and continuation lines belong to the window of the
		// line before them; before any dated line, only --since all counts them.
		switch {
		case r.leadUnknown:
			r.lead++
		case r.inWin || r.since.IsZero():
			r.lines++
			r.unparsed++
		}
		return
	}
	r.leadUnknown, r.sawParsed = false, true
	if r.p.t.Before(r.since) {
		r.inWin = false
		return
	}
	if r.p.t.After(r.until) {
		r.future++
		r.futureLast = later(r.futureLast, r.p.t)
		return // dated ahead of the clock: not in the window
	}
	r.inWin = true
	r.lines++
	r.parsed++
	r.count(l)
	if maxEntries == 0 {
		return
	}
	if len(r.ring) < maxEntries {
		r.ring = append(r.ring, kept{off, len(l)})
	} else {
		r.ring[r.head] = kept{off, len(l)}
		r.head = (r.head + 1) % maxEntries
	}
	if r.overflow {
		return
	}
	if r.n >= maxEntries || r.raw+len(l) > maxRawBytes {
		r.overflow = true
		r.blocks, r.n = nil, 0 // let the collector have them while the pass goes on
		return
	}
	r.keep(l)
}

// materialize is the second pass: every line in the window is kept.
func (r *errorReader) materialize(l []byte, _ int64) {
	if len(l) == 0 || r.n >= r.fit || !parseLine(l, &r.cache, &r.p) || r.p.t.Before(r.since) || r.p.t.After(r.until) {
		return
	}
	r.keep(l)
}

func (r *errorReader) keep(l []byte) {
	e, ok := r.entry(l)
	if !ok {
		return
	}
	r.raw += len(l)
	if len(r.blocks) == 0 || len(r.blocks[len(r.blocks)-1]) == r.blockCap {
		r.blocks = append(r.blocks, make([]Entry, 0, r.blockCap))
	}
	last := len(r.blocks) - 1
	r.blocks[last] = append(r.blocks[last], e)
	r.n++
}

// entry builds the Entry of the line r.p holds parsed.
func (r *errorReader) entry(l []byte) (Entry, bool) {
	if needsCleaning(l) {
		c := clean(l)
		var p line
		if !parseLine(c, &r.cache, &p) {
			return Entry{}, false
		}
		parseFields(c, &p)
		return p.entry(string(c)), true
	}
	parseFields(l, &r.p)
	return r.p.entry(string(l)), true
}

func (r *errorReader) entries() []Entry {
	if len(r.blocks) == 1 && len(r.blocks[0]) == r.n {
		return r.blocks[0] // the second pass knew the count
	}
	out := make([]Entry, 0, r.n)
	for _, b := range r.blocks {
		out = append(out, b...)
	}
	r.blocks = nil
	return out
}

// newestFrom walks the rings from the newest line back while the lines
// fit the caps, and returns the offset of the oldest that fits and how many fit.
func newestFrom(readers []*errorReader) (int64, int) {
	var from int64
	bytes, fit := 0, 0
	for k := len(readers) - 1; k >= 0; k-- {
		r := readers[k]
		n := len(r.ring)
		for i := 1; i <= n; i++ {
			e := r.ring[(r.head-i+n)%n]
			if bytes+e.n > maxRawBytes || fit == maxEntries {
				return from, fit
			}
			bytes += e.n
			from = e.off
			fit++
		}
	}
	return from, fit
}

// merge adds the counts of o, a later range, to r's.
func (r *errorReader) merge(o *errorReader) {
	for k, c := range o.counts {
		if have := r.counts[k]; have != nil {
			have.Lines += c.Lines
			have.Last = c.Last
			for _, e := range c.Examples {
				if len(have.Examples) < MaxExamples {
					have.Examples = append(have.Examples, e)
				}
			}
		} else {
			r.counts[k] = c
			r.ncounts++
		}
	}
}

// count tallies the line by class, target and phase. One map keyed by
// all three, and the last hit remembered: lines of an incident repeat
// one another, so most lines cost two comparisons and no lookup.
func (r *errorReader) count(l []byte) {
	tb := r.p.target.bytes(l)
	pb := r.p.phase.bytes(l)
	c := r.last
	if c == nil || c.Class != r.p.class || string(tb) != c.Target || string(pb) != c.Phase {
		r.key = append(append(append(append(append(r.key[:0], r.p.class...), 0), tb...), 0), pb...)
		c = r.counts[string(r.key)]
		if c == nil && r.ncounts >= maxCounts {
			// Too many targets: the rest go to the class and phase alone.
			r.key = append(append(append(r.key[:0], r.p.class...), 0, 0), pb...)
			tb = nil
			c = r.counts[string(r.key)]
		}
		if c == nil {
			c = &Count{Class: r.p.class, Target: cleanString(tb), Phase: cleanString(pb), First: r.p.t}
			r.counts[string(r.key)] = c
			r.ncounts++
		}
		r.last = c
	}
	c.Lines++
	c.Last = r.p.t
	if len(c.Examples) < MaxExamples && r.exampleBytes+len(l) <= maxExampleBytes {
		if e, ok := r.entry(l); ok {
			c.Examples = append(c.Examples, e)
			r.exampleBytes += len(l)
		}
	}
}

func cleanString(b []byte) string {
	if needsCleaning(b) {
		return string(clean(b))
	}
	return string(b)
}

func (r *errorReader) countList() []Count {
	out := make([]Count, 0, r.ncounts)
	for _, c := range r.counts {
		out = append(out, *c)
	}
	sortCounts(out)
	return out
}
