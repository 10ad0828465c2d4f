package logs

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// accessStamp caches the last "[dd/Mon/yyyy:HH:MM:SS zone]" parsed.
type accessStamp struct {
	key  [26]byte
	t    time.Time
	full bool
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// find locates the first "[dd/Mon/yyyy:HH:MM:SS +hhmm]" in l and returns
// its time and the index after "]". Any log_format that keeps $time_local
// in brackets works, combined or not.
func (c *accessStamp) find(l []byte) (time.Time, int, bool) {
	for i := 0; i < len(l); {
		o := bytes.IndexByte(l[i:], '[')
		if o < 0 {
			return time.Time{}, 0, false
		}
		o += i
		if o+28 <= len(l) && l[o+27] == ']' {
			if t, ok := c.parse(l[o+1 : o+27]); ok {
				return t, o + 28, true
			}
		}
		i = o + 1
	}
	return time.Time{}, 0, false
}

// parse reads "24/Nov/2026:05:13:28 +0000" (26 bytes).
func (c *accessStamp) parse(b []byte) (time.Time, bool) {
	if c.full && bytes.Equal(b, c.key[:]) {
		return c.t, true
	}
	if b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return time.Time{}, false
	}
	mo := 0
	for k, m := range months {
		if string(b[3:6]) == m {
			mo = k + 1
			break
		}
	}
	d, ok1 := digits(b[0:2])
	y, ok2 := digits(b[7:11])
	h, ok3 := digits(b[12:14])
	mi, ok4 := digits(b[15:17])
	s, ok5 := digits(b[18:20])
	zh, ok6 := digits(b[22:24])
	zm, ok7 := digits(b[24:26])
	sign := b[21]
	if mo == 0 || !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || (sign != '+' && sign != '-') ||
		d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || zh > 23 || zm > 59 {
		return time.Time{}, false
	}
	zone := time.Duration(zh)*time.Hour + time.Duration(zm)*time.Minute
	if sign == '-' {
		zone = -zone
	}
	// The zone is in the line, so the instant needs no location.
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Add(-zone)
	copy(c.key[:], b)
	c.t, c.full = t, true
	return t, true
}

// statusAfter returns the first token of exactly three digits after the
// request's closing quote (or after the time when there is no request).
func statusAfter(l []byte, i int) (int, bool) {
	if q := bytes.IndexByte(l[i:], '"'); q >= 0 {
		if e := bytes.IndexByte(l[i+q+1:], '"'); e >= 0 {
			i += q + 1 + e + 1
		} else {
			return 0, false
		}
	}
	for i < len(l) {
		for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
			i++
		}
		j := i
		for j < len(l) && l[j] != ' ' && l[j] != '\t' {
			j++
		}
		if j-i == 3 {
			if n, ok := digits(l[i:j]); ok && n >= 100 {
				return n, true
			}
		}
		i = j
	}
	return 0, false
}

// ReadAccessLog counts the requests of the access log at path written at or
// after since (since.IsZero(): the whole file), and the 5xx among them. Like
// ReadErrorLog it seeks to since by binary search.
func ReadAccessLog(ctx context.Context, sys host.System, path string, since time.Time) (AccessLog, error) {
	out := AccessLog{Path: path, Status: map[int]int{}}
	f, err := sys.Open(path)
	if err != nil {
		return out, fmt.Errorf("open access log: %w", err)
	}
	defer f.Close()
	size := f.Size()
	var c accessStamp

	var start int64
	if !since.IsZero() {
		stamp := func(l []byte) (time.Time, bool) {
			t, _, ok := c.find(l)
			return t, ok
		}
		start, err = seekSince(ctx, f, size, since, stamp, &out.BytesRead)
		if err != nil {
			return out, fmt.Errorf("read access log %s: %w", path, err)
		}
	}

	inWin := since.IsZero()
	until := sys.Now().Add(SkewTolerance)
	err = lines(ctx, f, start, size, &out.BytesRead, func(l []byte, _ int64) {
		if len(l) == 0 {
			return
		}
		t, i, ok := c.find(l)
		if !ok {
			if inWin {
				out.LinesRead++
				out.Unparsed++
			}
			return
		}
		if t.Before(since) {
			inWin = false
			return
		}
		if t.After(until) {
			out.Future++
			out.FutureLast = later(out.FutureLast, t)
			return
		}
		inWin = true
		out.LinesRead++
		code, ok := statusAfter(l, i)
		if !ok {
			out.Unparsed++
			return
		}
		if code >= 500 {
			q := requestOf(l, i, t, code)
			if bytes.Contains(l[i:], ourAgent) {
				out.Ours = keepLast(out.Ours, q)
				return
			}
			out.Failed = keepLast(out.Failed, q)
			out.Status[code]++
		}
		out.Requests++
	})
	if err != nil {
		return out, fmt.Errorf("read access log %s: %w", path, err)
	}
	out.Failed, out.Ours = Last(out.Failed), Last(out.Ours)
	return out, nil
}

// ourAgent starts ngxdoctor's User-Agent: its own requests through nginx.
var ourAgent = []byte(`"ngxdoctor/`)

// requestOf reads the quoted "$request" after index i of an access-log line.
func requestOf(l []byte, i int, t time.Time, code int) Request {
	q := Request{Time: t, Status: code}
	o := bytes.IndexByte(l[i:], '"')
	if o < 0 {
		return q
	}
	rest := l[i+o+1:]
	e := bytes.IndexByte(rest, '"')
	if e < 0 {
		return q
	}
	f := bytes.Fields(rest[:e])
	if len(f) >= 2 {
		q.Method, q.URI = string(f[0]), string(f[1])
	}
	return q
}

// keepLast appends q, keeping the last MaxFailed.
func keepLast(rs []Request, q Request) []Request {
	if len(rs) >= 2*MaxFailed {
		rs = append(rs[:0], rs[len(rs)-MaxFailed:]...)
	}
	return append(rs, q)
}

// Last is the final MaxFailed of rs.
func Last(rs []Request) []Request {
	if len(rs) > MaxFailed {
		return rs[len(rs)-MaxFailed:]
	}
	return rs
}
