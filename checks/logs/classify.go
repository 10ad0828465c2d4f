package logs

import (
	"bytes"
	"slices"
	"strings"
)

// Status is the HTTP status the client got for a request that logged a line
// of this class (see nginx-upstream-errors.md), 0 when the line does not
// decide one (a warning, a start-up error, a message nginx only relays).
func (c Class) Status() int {
	switch c {
	case Timeout:
		return 504
	case Refused, PermissionDenied, NoSuchFile, Again, NoRoute, NetUnreachable, AddrNotAvail,
		Closed, Reset, BrokenPipe, HeaderTooBig, InvalidHeader, TLS,
		ResolveFailed, NoResolver, NoLiveUpstreams, GRPC:
		return 502
	case TooManyFiles, WorkerConns:
		return 500
	case ClientClosed:
		return 499
	}
	return 0
}

func has(b []byte, s string) bool    { return bytes.Contains(b, []byte(s)) }
func prefix(b []byte, s string) bool { return bytes.HasPrefix(b, []byte(s)) }

// byErrno names a failed socket call to a peer by its errno.
var byErrno = map[int]Class{
	111: Refused,
	13:  PermissionDenied,
	2:   NoSuchFile,
	11:  Again,
	113: NoRoute,
	101: NetUnreachable,
	99:  AddrNotAvail,
	104: Reset,
	32:  BrokenPipe,
	110: Timeout,
}

// classify sets p.class and p.target. head is the message without its
// " while ..." phase, starting at byte off of l.
func classify(l, head []byte, off int, p *line, resolver span) {
	phase := p.phase.bytes(l)
	toUpstream := bytes.Contains(phase, []byte("upstream"))
	if !p.upstream.empty() {
		p.target = targetOf(l, p.upstream)
	}
	p.class = Other
	switch {
	case prefix(head, "FastCGI sent in stderr"):
		p.class = FastCGIStderr
	case has(head, "client prematurely closed connection") || has(phase, "client prematurely closed connection"):
		p.class = ClientClosed
	case has(head, "worker_connections are not enough"):
		p.class = WorkerConns
	case p.errno == 24:
		p.class = TooManyFiles
	case prefix(head, "upstream timed out"):
		p.class = Timeout
	case prefix(head, "upstream prematurely closed stream"):
		p.class = GRPC
	case prefix(head, "upstream prematurely closed"):
		p.class = Closed
	case prefix(head, "upstream sent too big header"):
		p.class = HeaderTooBig
	case prefix(head, "upstream rejected request"), prefix(head, "upstream sent goaway"),
		prefix(head, "upstream sent frame for"), prefix(head, "upstream sent unexpected http2"):
		p.class = GRPC
	case prefix(head, "upstream sent no valid"), prefix(head, "upstream sent invalid"),
		prefix(head, "upstream sent duplicate header"), prefix(head, "upstream sent unsupported FastCGI"),
		prefix(head, "upstream sent unexpected FastCGI"):
		p.class = InvalidHeader
	case prefix(head, "upstream SSL certificate"):
		p.class = TLS
	// The same SSL wording is logged for clients' handshakes; only the
	// phase says the peer was the upstream.
	case toUpstream && (prefix(head, "SSL_") || has(head, "SSL handshake")):
		p.class = TLS
	case prefix(head, "no resolver defined to resolve "):
		p.class = NoResolver
		a := off + len("no resolver defined to resolve ")
		p.target = word(l, a, off+len(head))
	case has(head, " could not be resolved"):
		p.class = ResolveFailed
		e := off + bytes.Index(head, []byte(" could not be resolved"))
		a := bytes.LastIndexByte(l[off:e], ' ') + 1 + off
		p.target = span{a, e}
	case bytes.HasPrefix(phase, []byte("resolving")):
		p.class = ResolverError
		if !resolver.empty() {
			p.target = resolver
		}
	case prefix(head, "no live upstreams"):
		p.class = NoLiveUpstreams
	case prefix(head, "upstream server temporarily disabled"):
		p.class = ServerDisabled
	case prefix(head, "host not found in upstream \""):
		p.class = HostNotFound
		a := off + len("host not found in upstream \"")
		e := bytes.IndexByte(l[a:off+len(head)], '"')
		if e < 0 {
			e = off + len(head) - a
		}
		p.target = span{a, a + e}
	case prefix(head, "connect() "):
		p.class = errnoClass(p.errno)
		if p.target.empty() && prefix(head, "connect() to ") {
			a := off + len("connect() to ")
			p.target = word(l, a, off+len(head))
		}
	// recv()/readv()/writev()/send() failures name the client too
	// ("while reading client request headers"): only upstream ones count.
	case toUpstream && p.errno != 0:
		p.class = errnoClass(p.errno)
	}
}

func errnoClass(n int) Class {
	if c, ok := byErrno[n]; ok {
		return c
	}
	return Other
}

// word is the run of l from a up to the first space or comma (or end).
func word(l []byte, a, end int) span {
	if a > end {
		return span{end, end}
	}
	e := bytes.IndexAny(l[a:end], " ,")
	if e < 0 {
		e = end - a
	}
	return span{a, a + e}
}

func sortCounts(c []Count) {
	slices.SortFunc(c, func(a, b Count) int {
		if a.Lines != b.Lines {
			return b.Lines - a.Lines
		}
		if a.Class != b.Class {
			return strings.Compare(string(a.Class), string(b.Class))
		}
		return strings.Compare(a.Target, b.Target)
	})
}
