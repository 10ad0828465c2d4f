package logs

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// MaxLineBytes is where nginx cuts an error-log line (NGX_MAX_ERROR_STR);
// longer lines are not nginx's and are cut here too.
const MaxLineBytes = 2048

// span is a byte range [a, b) of a line; the hot path keeps spans, not
// strings, so a line that is only counted costs no allocation.
type span struct{ a, b int }

func (s span) of(raw string) string { return raw[s.a:s.b] }

func (s span) bytes(line []byte) []byte { return line[s.a:s.b] }

func (s span) empty() bool { return s.a >= s.b }

// line is an error-log line parsed in place.
type line struct {
	t        time.Time
	level    string
	pid      int
	conn     int64
	class    Class
	errno    int
	errnoAt  int // where "(errno: " starts in the message's head
	msg      span
	phase    span
	client   span
	server   span
	request  span
	upstream span
	host     span
	target   span
}

// stampCache remembers the hour of the last timestamp parsed: time.Date
// with a zone is the costliest step of a line, and a log's lines share their
// hour. Away from a zone change, a time is the hour's start plus minutes
// and seconds.
type stampCache struct {
	loc    *time.Location
	key    [13]byte // "YYYY/MM/DD HH"
	hour   time.Time
	steady bool // the zone offset is the same all through the hour
	full   bool
	msg    msgCache
}

// msgCache remembers the last message parsed and what it said: the lines
// of an incident repeat one message ("connect() failed (111: Connection
// refused) while connecting to upstream"), and comparing it costs less
// than finding its phase, errno and class again. Spans are relative to
// the message's start.
type msgCache struct {
	text        []byte // the message, up to ", client: "
	class       Class
	errno       int
	errnoAt     int
	phase       span
	target      span // in the message when fromHead
	fromHead    bool
	hasUpstream bool
}

// ParseErrorLine parses one nginx error-log line, its timestamp read in loc.
// It reports false for anything that is not an error-log line.
func ParseErrorLine(l []byte, loc *time.Location) (Entry, bool) {
	l = trimLine(l)
	if needsCleaning(l) {
		l = clean(l)
	}
	c := stampCache{loc: locOrLocal(loc)}
	var p line
	if !parseLine(l, &c, &p) {
		return Entry{}, false
	}
	parseFields(l, &p)
	return p.entry(string(l)), true
}

// entry builds the exported Entry; raw must hold exactly the parsed bytes.
func (p *line) entry(raw string) Entry {
	return Entry{
		Time:     p.t,
		Level:    p.level,
		PID:      p.pid,
		Conn:     p.conn,
		Class:    p.class,
		Errno:    p.errno,
		Phase:    p.phase.of(raw),
		Message:  p.msg.of(raw),
		Client:   p.client.of(raw),
		Server:   p.server.of(raw),
		Request:  p.request.of(raw),
		Upstream: p.upstream.of(raw),
		Host:     p.host.of(raw),
		Target:   p.target.of(raw),
		Raw:      raw,
	}
}

func locOrLocal(loc *time.Location) *time.Location {
	if loc == nil {
		return time.Local
	}
	return loc
}

// trimLine drops the line ending and cuts the line where nginx would.
func trimLine(l []byte) []byte {
	if len(l) > MaxLineBytes {
		l = l[:MaxLineBytes]
	}
	for len(l) > 0 && (l[len(l)-1] == '\n' || l[len(l)-1] == '\r') {
		l = l[:len(l)-1]
	}
	return l
}

// needsCleaning reports bytes that must not reach a terminal or a report:
// invalid UTF-8 and control characters (a request line can carry escape
// sequences from any client).
func needsCleaning(l []byte) bool {
	ascii := true
	for _, b := range l {
		if b < 0x20 && b != '\t' || b == 0x7f {
			return true
		}
		if b >= 0x80 {
			ascii = false
		}
	}
	return !ascii && !utf8.Valid(l)
}

// clean returns a copy with invalid UTF-8 and control characters replaced by U+FFFD.
func clean(l []byte) []byte {
	out := make([]byte, 0, len(l)+16)
	for len(l) > 0 {
		r, n := utf8.DecodeRune(l)
		switch {
		case r == utf8.RuneError && n <= 1:
			out = utf8.AppendRune(out, utf8.RuneError)
		case r < 0x20 && r != '\t' || r == 0x7f:
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = append(out, l[:n]...)
		}
		l = l[n:]
	}
	return out
}

func digits(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// errorStamp parses "YYYY/MM/DD HH:MM:SS" at the start of l.
func (c *stampCache) errorStamp(l []byte) (time.Time, bool) {
	if len(l) < 19 {
		return time.Time{}, false
	}
	if l[13] != ':' || l[16] != ':' {
		return time.Time{}, false
	}
	mi, ok1 := digits(l[14:16])
	s, ok2 := digits(l[17:19])
	if !ok1 || !ok2 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	if !c.full || !bytes.Equal(l[:13], c.key[:]) {
		if l[4] != '/' || l[7] != '/' || l[10] != ' ' {
			return time.Time{}, false
		}
		y, ok1 := digits(l[0:4])
		mo, ok2 := digits(l[5:7])
		d, ok3 := digits(l[8:10])
		h, ok4 := digits(l[11:13])
		if !(ok1 && ok2 && ok3 && ok4) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 {
			return time.Time{}, false
		}
		c.hour = time.Date(y, time.Month(mo), d, h, 0, 0, 0, c.loc)
		// No zone change within three hours either side (shifts are at most
		// two hours): then no wall time of this hour is skipped or repeated.
		_, off0 := c.hour.Add(-3 * time.Hour).Zone()
		_, off1 := c.hour.Zone()
		_, off2 := c.hour.Add(3 * time.Hour).Zone()
		c.steady = off0 == off1 && off1 == off2 && c.hour.Hour() == h
		copy(c.key[:], l[:13])
		c.full = true
	}
	if !c.steady {
		y, _ := digits(l[0:4])
		mo, _ := digits(l[5:7])
		d, _ := digits(l[8:10])
		h, _ := digits(l[11:13])
		return time.Date(y, time.Month(mo), d, h, mi, s, 0, c.loc), true
	}
	return c.hour.Add(time.Duration(mi*60+s) * time.Second), true
}

// header parses "YYYY/MM/DD HH:MM:SS [level] PID#TID: [*CONN ]" and
// returns where the message starts.
func (c *stampCache) header(l []byte, p *line) (int, bool) {
	t, ok := c.errorStamp(l)
	if !ok || len(l) < 22 || l[19] != ' ' || l[20] != '[' {
		return 0, false
	}
	i := 21
	for i < len(l) && i < 28 && l[i] != ']' {
		i++
	}
	if i >= len(l) || l[i] != ']' {
		return 0, false
	}
	if p.level = levelOf(l[21:i]); p.level == "" {
		return 0, false
	}
	i++
	for i < len(l) && l[i] == ' ' {
		i++
	}
	pid, i, ok := number(l, i)
	if !ok || i >= len(l) || l[i] != '#' {
		return 0, false
	}
	if _, i, ok = number(l, i+1); !ok || i >= len(l) || l[i] != ':' {
		return 0, false
	}
	i++
	if i < len(l) && l[i] == ' ' {
		i++
	}
	p.t, p.pid, p.conn = t, pid, 0
	if i < len(l) && l[i] == '*' {
		if n, j, ok := number(l, i+1); ok && j < len(l) && l[j] == ' ' {
			p.conn = int64(n)
			i = j + 1
		}
	}
	return i, true
}

// number reads up to 18 digits at l[i:] and returns the index after them.
func number(l []byte, i int) (int, int, bool) {
	n, j := 0, i
	for j < len(l) && j-i < 18 && l[j] >= '0' && l[j] <= '9' {
		n = n*10 + int(l[j]-'0')
		j++
	}
	return n, j, j > i
}

func levelOf(b []byte) string {
	switch string(b) {
	case "error":
		return "error"
	case "crit":
		return "crit"
	case "warn":
		return "warn"
	case "info":
		return "info"
	case "notice":
		return "notice"
	case "alert":
		return "alert"
	case "emerg":
		return "emerg"
	case "debug":
		return "debug"
	}
	return ""
}

var (
	sepClient   = []byte(", client: ")
	sepResolver = []byte(", resolver: ")
	sepUpstream = []byte(", upstream: ")
)

// parseLine parses l in place into p; l must already be trimmed.
func parseLine(l []byte, c *stampCache, p *line) bool {
	start, ok := c.header(l, p)
	if !ok {
		return false
	}
	*p = line{t: p.t, level: p.level, pid: p.pid, conn: p.conn}
	if c.msg.repeats(l[start:]) && c.msg.apply(l, start, p) {
		return true
	}
	*p = line{t: p.t, level: p.level, pid: p.pid, conn: p.conn}
	headEnd := parseMessage(l, start, p)
	c.msg.remember(l, start, headEnd, p)
	return true
}

// parseMessage parses what follows the header at l[start:] and returns
// where the message's head (the text before " while ") ends.
func parseMessage(l []byte, start int, p *line) int {
	rest := l[start:]
	msgEnd := bytes.Index(rest, sepClient)
	if msgEnd < 0 {
		msgEnd = bytes.Index(rest, sepResolver)
	}
	if msgEnd < 0 {
		msgEnd = len(rest)
	}
	p.msg = span{start, start + msgEnd}
	headEnd := p.msg.b
	if w := lastWhile(rest[:msgEnd]); w >= 0 {
		p.phase = span{start + w + len(" while "), p.msg.b}
		headEnd = start + w
	}
	p.upstream = fieldAfter(l, p.msg.b, sepUpstream)
	head := l[start:headEnd]
	p.errno, p.errnoAt = errnoOf(head)
	classify(l, head, start, p)
	return headEnd
}

// repeats reports whether rest starts with the remembered message followed
// by ", client: ". Then its first ", client: " is there too: one starting
// earlier would have ended the remembered line's message earlier.
func (m *msgCache) repeats(rest []byte) bool {
	n := len(m.text)
	return n > 0 && len(rest) >= n+len(sepClient) &&
		bytes.Equal(rest[:n], m.text) && bytes.Equal(rest[n:n+len(sepClient)], sepClient)
}

// apply sets p as parseLine would for a line whose message repeats the
// remembered one. It reports false when the line differs where classify
// looks outside the message (an upstream field one has and the other has
// not): then the line is parsed afresh.
func (m *msgCache) apply(l []byte, start int, p *line) bool {
	p.upstream = fieldAfter(l, start+len(m.text), sepUpstream)
	if p.upstream.empty() == m.hasUpstream {
		return false
	}
	p.msg = span{start, start + len(m.text)}
	if !m.phase.empty() {
		p.phase = span{start + m.phase.a, start + m.phase.b}
	}
	p.errno, p.errnoAt, p.class = m.errno, m.errnoAt, m.class
	switch {
	case m.fromHead:
		p.target = span{start + m.target.a, start + m.target.b}
	case m.hasUpstream:
		p.target = targetOf(l, p.upstream)
	}
	return true
}

// remember keeps the message of p when every part classify used is in
// it or in the upstream field, and it ended at ", client: ".
func (m *msgCache) remember(l []byte, start, headEnd int, p *line) {
	m.text = m.text[:0]
	if !bytes.HasPrefix(l[p.msg.b:], sepClient) {
		return
	}
	var up span
	if !p.upstream.empty() {
		up = targetOf(l, p.upstream)
	}
	rel := func(s span) span {
		if s.empty() {
			return span{}
		}
		return span{s.a - start, s.b - start}
	}
	switch {
	case !p.target.empty() && p.target != up && p.target.a >= start && p.target.b <= headEnd:
		m.fromHead, m.target = true, rel(p.target)
	case p.target == up:
		m.fromHead, m.target = false, span{}
	default:
		return // from another field (a resolver's)
	}
	m.text = append(m.text, l[start:p.msg.b]...)
	m.class, m.errno, m.errnoAt = p.class, p.errno, p.errnoAt
	m.phase = rel(p.phase)
	m.hasUpstream = !p.upstream.empty()
}

// fieldAfter finds the first `, key: value` (sep holds `, key: `) from i
// on. Only the first counts: nginx writes host and referrer last and as the
// client sent them, so a forged field can only follow the real one.
func fieldAfter(l []byte, i int, sep []byte) span {
	// Search without the leading ", ": commas start every field, so a
	// search led by one stops at each.
	key := sep[2:]
	k := i
	for {
		j := bytes.Index(l[k:], key)
		if j < 0 {
			return span{}
		}
		k += j
		if k-2 >= i && l[k-2] == ',' && l[k-1] == ' ' {
			break
		}
		k++
	}
	v := k + len(key)
	if v < len(l) && l[v] == '"' {
		return span{v + 1, quotedEnd(l, v+1)}
	}
	return span{v, valueEnd(l, v)}
}

// valueEnd is where an unquoted value starting at v ends: at ", " or the end.
func valueEnd(l []byte, v int) int {
	end := v
	for {
		c := bytes.IndexByte(l[end:], ',')
		if c < 0 {
			return len(l)
		}
		end += c
		if end+1 < len(l) && l[end+1] == ' ' {
			return end
		}
		end++
	}
}

// parseFields reads the ", key: value" pairs after the message, for the
// lines kept as entries (counting needs only the upstream). Quoted values
// end at a quote followed by the next ", key: " or the end, so a quote
// inside a request line or a Host header does not end them early.
func parseFields(l []byte, p *line) {
	i := p.msg.b
	for i+2 < len(l) && l[i] == ',' && l[i+1] == ' ' {
		k := i + 2
		colon := keyLen(l[k:])
		if colon <= 0 {
			return
		}
		key := l[k : k+colon]
		v := k + colon + 2
		var val span
		if v < len(l) && l[v] == '"' {
			end := quotedEnd(l, v+1)
			val = span{v + 1, end}
			i = min(end+1, len(l))
		} else {
			end := valueEnd(l, v)
			val = span{v, end}
			i = end
		}
		// As in fieldAfter, the first of each key wins, and nothing follows
		// the referrer.
		switch string(key) {
		case "client":
			setOnce(&p.client, val)
		case "server":
			setOnce(&p.server, val)
		case "request":
			setOnce(&p.request, val)
		case "host":
			setOnce(&p.host, val)
		case "referrer":
			return
		}
	}
}

func setOnce(s *span, v span) {
	if *s == (span{}) {
		*s = v
	}
}

// quotedEnd finds the closing quote of a value that starts at i.
func quotedEnd(l []byte, i int) int {
	for j := i; j < len(l); {
		q := bytes.IndexByte(l[j:], '"')
		if q < 0 {
			return len(l)
		}
		q += j
		if q+1 == len(l) || isFieldStart(l[q+1:]) {
			return q
		}
		j = q + 1
	}
	return len(l)
}

// keyLen is the length of the lowercase key at the start of b when ": "
// follows it, else 0.
func keyLen(b []byte) int {
	for i := 0; i < len(b) && i < 16; i++ {
		switch c := b[i]; {
		case c >= 'a' && c <= 'z':
		case c == ':' && i > 0:
			if i+1 < len(b) && b[i+1] == ' ' {
				return i
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}

// lastWhile is the index of the last " while " in b, or -1. It scans
// backwards: the phase ends the message, a few dozen bytes from its end.
func lastWhile(b []byte) int {
	for i := len(b) - 7; i >= 0; i-- {
		if b[i+1] == 'w' && b[i] == ' ' && string(b[i+2:i+7]) == "hile " {
			return i
		}
	}
	return -1
}

// isFieldStart reports whether b starts with ", key: " (key in lowercase letters).
func isFieldStart(b []byte) bool {
	if len(b) < 4 || b[0] != ',' || b[1] != ' ' {
		return false
	}
	for i := 2; i < len(b) && i < 16; i++ {
		switch c := b[i]; {
		case c >= 'a' && c <= 'z':
		case c == ':' && i > 2:
			return i+1 < len(b) && b[i+1] == ' '
		default:
			return false
		}
	}
	return false
}

// errnoOf finds "(N: " in the message, the errno nginx appends, and where it is.
func errnoOf(head []byte) (int, int) {
	for i := 0; i < len(head); {
		o := bytes.IndexByte(head[i:], '(')
		if o < 0 {
			return 0, 0
		}
		o += i
		j := o + 1
		for j < len(head) && j-o <= 6 && head[j] >= '0' && head[j] <= '9' {
			j++
		}
		if j > o+1 && j+1 < len(head) && head[j] == ':' && head[j+1] == ' ' {
			n, _ := digits(head[o+1 : j])
			return n, o
		}
		i = o + 1
	}
	return 0, 0
}

// targetOf extracts the peer from an upstream: URL, as nginx.Target.Address
// writes it: host:port, [v6]:port, unix:/path, or a group name.
func targetOf(l []byte, u span) span {
	b := u.bytes(l)
	a := u.a
	// The scheme ends at the first colon; a loop beats bytes.Index on so
	// short a needle, once a line.
	if k := bytes.IndexByte(b[:min(len(b), 16)], ':'); k >= 0 && k+2 < len(b) && b[k+1] == '/' && b[k+2] == '/' {
		a += k + 3
		b = b[k+3:]
	}
	switch {
	case bytes.HasPrefix(b, []byte("unix:")):
		if e := bytes.IndexByte(b[5:], ':'); e >= 0 {
			return span{a, a + 5 + e}
		}
		return span{a, a + len(b)}
	case len(b) > 0 && b[0] == '[':
		e := bytes.IndexByte(b, ']')
		if e < 0 {
			return span{a, a + len(b)}
		}
		e++
		if e < len(b) && b[e] == ':' {
			e++
			for e < len(b) && b[e] >= '0' && b[e] <= '9' {
				e++
			}
		}
		return span{a, a + e}
	}
	e := bytes.IndexByte(b, '/')
	if e < 0 {
		e = len(b)
	}
	return span{a, a + e}
}
