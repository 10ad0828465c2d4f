// Package logs reads nginx error and access logs within a time window,
// seeking from the end so the cost follows the window, not the file size,
// and classifies each error line by message, errno and phase.
package logs

import (
	"slices"
	"time"
)

// Class is what an error-log line says happened, independent of wording.
type Class string

const (
	Refused          Class = "refused"            // connect() failed (111)
	PermissionDenied Class = "permission-denied"  // connect() ... (13)
	NoSuchFile       Class = "no-such-file"       // connect() to unix:... (2)
	Again            Class = "again"              // (11: Resource temporarily unavailable): unix listen queue full
	NoRoute          Class = "no-route"           // (113: No route to host)
	NetUnreachable   Class = "net-unreachable"    // (101: Network is unreachable)
	AddrNotAvail     Class = "addr-not-avail"     // (99: Cannot assign requested address): local ports used up
	TooManyFiles     Class = "too-many-files"     // (24: Too many open files)
	WorkerConns      Class = "worker-connections" // N worker_connections are not enough
	Timeout          Class = "timeout"            // upstream timed out (110); see Phase for connect vs read
	Closed           Class = "closed"             // upstream prematurely closed connection / FastCGI stdout
	Reset            Class = "reset"              // (104: Connection reset by peer)
	BrokenPipe       Class = "broken-pipe"        // (32: Broken pipe) while sending request
	HeaderTooBig     Class = "header-too-big"     // upstream sent too big header
	InvalidHeader    Class = "invalid-header"     // no valid HTTP/1.0 header, invalid header/status, duplicate header
	TLS              Class = "tls"                // SSL handshake/verify failures to upstream
	ResolveFailed    Class = "resolve-failed"     // X could not be resolved (N: ...)
	ResolverError    Class = "resolver-error"     // send()/recv() failed while resolving
	NoResolver       Class = "no-resolver"        // no resolver defined to resolve X
	NoLiveUpstreams  Class = "no-live-upstreams"  // no live upstreams
	ServerDisabled   Class = "server-disabled"    // upstream server temporarily disabled
	FastCGIStderr    Class = "fastcgi-stderr"     // FastCGI sent in stderr
	ClientClosed     Class = "client-closed"      // client prematurely closed connection (499)
	GRPC             Class = "grpc"               // upstream rejected request / goaway / closed stream
	HostNotFound     Class = "host-not-found"     // host not found in upstream "X" (emerg, at start or -t)
	// FileAccess is nginx failing on a file of its own: open()/mkdir()/stat()
	// of a temp, cache, log or root path. Target is the path, not a backend.
	FileAccess Class = "file-access" // open() "/var/lib/nginx/proxy/1/00/1" failed (13: Permission denied)
	Other      Class = "other"
)

// Entry is one error-log line.
type Entry struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	PID   int       `json:"pid"`
	Conn  int64     `json:"conn,omitempty"`
	Class Class     `json:"class"`
	// Errno is the number in "(111: Connection refused)", 0 when none.
	Errno int `json:"errno,omitempty"`
	// Phase is the text after " while ", e.g. "connecting to upstream".
	Phase    string `json:"phase,omitempty"`
	Message  string `json:"message"`
	Client   string `json:"client,omitempty"`
	Server   string `json:"server,omitempty"`
	Request  string `json:"request,omitempty"`
	Upstream string `json:"upstream,omitempty"` // the upstream: field as logged
	Host     string `json:"host,omitempty"`
	// Target is the address the line is about, in nginx.Target.Address form:
	// "127.0.0.1:3999", "unix:/srv/app.sock", or an upstream group name
	// ("dead2") when nginx logged the group (no live upstreams), or a host
	// name for resolver lines.
	Target string `json:"target,omitempty"`
	// Raw is the line as read (cut to 2048 bytes, invalid UTF-8 replaced).
	Raw string `json:"raw"`
}

// ErrorLog is what was read of one error log in the window.
type ErrorLog struct {
	Path string `json:"path"`
	// Entries are a bounded sample: the newest lines of the window (at most
	// 10,000 and 4 MiB of them). Counts, not Entries, say how many there were.
	Entries   []Entry `json:"entries"`
	LinesRead int     `json:"lines_read"`
	// Unparsed counts lines in the window that were not nginx log lines
	// (garbage, binary, continuation).
	Unparsed int `json:"unparsed"`
	// BytesRead is how much of the file was read.
	BytesRead int64 `json:"bytes_read"`
	// Dropped counts parsed lines in the window left out of Entries to
	// bound memory (the oldest go first); Counts still includes them.
	Dropped int `json:"dropped,omitempty"`
	// Counts tallies every parsed line in the window by class, target and
	// phase, most frequent first, whether or not it is kept in Entries:
	// they are exact for any window.
	Counts []Count `json:"counts"`
	// Future counts lines dated after the host's clock (beyond a minute's
	// tolerance): they are not in the window. FutureLast is the latest
	// such time; its distance from now is the clock skew.
	Future     int       `json:"future,omitempty"`
	FutureLast time.Time `json:"future_last,omitempty"`
}

// MaxExamples is how many lines a Count keeps of its own.
const MaxExamples = 3

// Count is how many lines in the window share a class, a target and a
// phase: the key every rule that attributes a line to a cause reads.
type Count struct {
	Class  Class  `json:"class"`
	Target string `json:"target,omitempty"`
	// Phase is the lines' " while ..." text, as in Entry.Phase.
	Phase string    `json:"phase,omitempty"`
	Lines int       `json:"lines"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Examples are the first lines of the window with this key (at most
	// MaxExamples; none once the log's examples fill 1 MiB), for evidence
	// and for rules that read more of a line than its key.
	Examples []Entry `json:"examples,omitempty"`
}

// Entry is a line of the count to hand to a rule: its first example, or,
// past the examples' budget, an entry made of the key alone.
func (c Count) Entry() Entry {
	if len(c.Examples) > 0 {
		return c.Examples[0]
	}
	return Entry{Time: c.First, Class: c.Class, Target: c.Target, Phase: c.Phase}
}

// Lines is the number of lines of the given classes in the counts (all
// classes when none is given).
func (l ErrorLog) Lines(classes ...Class) int {
	n := 0
	for _, c := range l.Counts {
		if len(classes) == 0 || slices.Contains(classes, c.Class) {
			n += c.Lines
		}
	}
	return n
}

// AccessLog is what was read of one access log in the window.
type AccessLog struct {
	Path      string `json:"path"`
	LinesRead int    `json:"lines_read"`
	Requests  int    `json:"requests"`
	// Status counts 5xx responses by code (502, 503, 504, ...).
	Status    map[int]int `json:"status"`
	Unparsed  int         `json:"unparsed"`
	BytesRead int64       `json:"bytes_read"`
	// Future and FutureLast: as in ErrorLog.
	Future     int       `json:"future,omitempty"`
	FutureLast time.Time `json:"future_last,omitempty"`
	// Failed are the most recent 5xx requests of the window (at most
	// MaxFailed, oldest first); ngxdoctor's own requests are not among them.
	Failed []Request `json:"failed,omitempty"`
	// Ours are ngxdoctor's own requests (User-Agent ngxdoctor/...) that
	// answered 5xx: not the incident's evidence, and not in Status.
	Ours []Request `json:"ours,omitempty"`
}

// MaxFailed bounds AccessLog.Failed and AccessLog.Ours.
const MaxFailed = 64

// Request is what an access-log line says of one request.
type Request struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	URI    string    `json:"uri"` // path and query as sent
	Status int       `json:"status"`
}

// SkewTolerance is how far past the host's clock a line may be dated and
// still count: a log written by another host's clock, a second off, is fine.
const SkewTolerance = time.Minute

// Tally counts entries as ReadErrorLog counts lines, for entries that
// come without counts.
func Tally(entries []Entry) []Count {
	index := map[[3]string]int{}
	var out []Count
	for _, e := range entries {
		k := [3]string{string(e.Class), e.Target, e.Phase}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Count{Class: e.Class, Target: e.Target, Phase: e.Phase, First: e.Time})
		}
		c := &out[i]
		c.Lines++
		if e.Time.Before(c.First) {
			c.First = e.Time
		}
		if e.Time.After(c.Last) {
			c.Last = e.Time
		}
		if len(c.Examples) < MaxExamples {
			c.Examples = append(c.Examples, e)
		}
	}
	sortCounts(out)
	return out
}
