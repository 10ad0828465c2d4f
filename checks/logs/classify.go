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

// Needles are []byte once: converting a literal of more than 32 bytes
// on each call would allocate on the hot path.
var (
	nCouldNotBeResolved                = []byte(" could not be resolved ")
	nPeerClosedInSSLHandshake          = []byte("peer closed connection in SSL handshake")
	nFastcgiSentInStderr               = []byte("FastCGI sent in stderr")
	nSsl                               = []byte("SSL_")
	nReportedThatClient                = []byte(" reported that client prematurely closed connection")
	nClientPrematurelyClosedConnection = []byte("client prematurely closed connection")
	nConnect                           = []byte("connect() ")
	nConnectTo                         = []byte("connect() to ")
	nHostNotFoundInUpstream            = []byte("host not found in upstream \"")
	nNoLiveUpstreams                   = []byte("no live upstreams")
	nNoResolverDefinedToResolve        = []byte("no resolver defined to resolve ")
	nUpstreamSslCertificate            = []byte("upstream SSL certificate")
	nUpstreamPrematurelyClosed         = []byte("upstream prematurely closed")
	nUpstreamPrematurelyClosedStream   = []byte("upstream prematurely closed stream")
	nUpstreamRejectedRequest           = []byte("upstream rejected request")
	nUpstreamSentDuplicateHeader       = []byte("upstream sent duplicate header")
	nUpstreamSentFrameFor              = []byte("upstream sent frame for")
	nUpstreamSentGoaway                = []byte("upstream sent goaway")
	nUpstreamSentInvalid               = []byte("upstream sent invalid")
	nUpstreamSentNoValid               = []byte("upstream sent no valid")
	nUpstreamSentTooBigHeader          = []byte("upstream sent too big header")
	nUpstreamSentUnexpectedFastcgi     = []byte("upstream sent unexpected FastCGI")
	nUpstreamSentUnexpectedHttp2       = []byte("upstream sent unexpected http2")
	nUpstreamSentUnsupportedFastcgi    = []byte("upstream sent unsupported FastCGI")
	nUpstreamServerTemporarilyDisabled = []byte("upstream server temporarily disabled")
	nUpstreamTimedOut                  = []byte("upstream timed out")
	nWorkerConnectionsAreNotEnough     = []byte("worker_connections are not enough")
)

func has(b, n []byte) bool    { return bytes.Contains(b, n) }
func prefix(b, n []byte) bool { return bytes.HasPrefix(b, n) }

// classify sets p.class and p.target. head is the message without its
// " while ..." phase, starting at byte off of l.
func classify(l, head []byte, off int, p *line) {
	phase := p.phase.bytes(l)
	// Every phase about the upstream ends with "upstream".
	toUpstream := bytes.HasSuffix(phase, []byte("upstream"))
	if !p.upstream.empty() {
		p.target = targetOf(l, p.upstream)
	}
	p.class = Other
	var c0 byte
	if len(head) > 0 {
		c0 = head[0]
	}
	uc := Other
	if c0 == 'u' {
		uc = upstreamClass(head)
	}
	// The first byte picks the few wordings that can match, so a line costs
	// a handful of prefix checks whatever it says.
	switch {
	case c0 == 'F' && prefix(head, nFastcgiSentInStderr):
		p.class = FastCGIStderr
	case clientClosed(head):
		p.class = ClientClosed
	case c0 >= '0' && c0 <= '9' && has(head, nWorkerConnectionsAreNotEnough):
		p.class = WorkerConns
	case p.errno == 24:
		p.class = TooManyFiles
	case (c0 == 'o' || c0 == 'm' || c0 == 's') && ownFileErrno(p.errno, toUpstream) && fileOp(head) > 0:
		// nginx's own file, even when the request was going upstream
		// (a temp file for a big response): not the backend's doing.
		p.class = FileAccess
		a := off + fileOp(head)
		e := bytes.IndexByte(l[a:off+len(head)], '"')
		if e < 0 {
			e = off + len(head) - a
		}
		p.target = span{a, a + e}
	case uc != Other:
		p.class = uc
	// The same SSL wording is logged for clients' handshakes; only the
	// phase says the peer was the upstream.
	case toUpstream && (c0 == 'S' && prefix(head, nSsl) || c0 == 'p' && prefix(head, nPeerClosedInSSLHandshake)):
		p.class = TLS
	case c0 == 'n' && prefix(head, nNoResolverDefinedToResolve):
		p.class = NoResolver
		a := off + len("no resolver defined to resolve ")
		p.target = word(l, a, off+len(head))
	case c0 == 'n' && prefix(head, nNoLiveUpstreams):
		p.class = NoLiveUpstreams
	case p.errnoAt > 0 && bytes.HasSuffix(head[:p.errnoAt], nCouldNotBeResolved):
		p.class = ResolveFailed
		e := off + p.errnoAt - len(nCouldNotBeResolved)
		a := bytes.LastIndexByte(l[off:e], ' ') + 1 + off
		p.target = span{a, e}
	case bytes.HasPrefix(phase, []byte("resolving")):
		p.class = ResolverError
		if r := fieldAfter(l, p.msg.b, sepResolver); !r.empty() {
			p.target = r
		}
	case c0 == 'h' && prefix(head, nHostNotFoundInUpstream):
		p.class = HostNotFound
		a := off + len("host not found in upstream \"")
		e := bytes.IndexByte(l[a:off+len(head)], '"')
		if e < 0 {
			e = off + len(head) - a
		}
		p.target = span{a, a + e}
	case c0 == 'c' && prefix(head, nConnect):
		p.class = errnoClass(p.errno)
		if p.target.empty() && prefix(head, nConnectTo) {
			a := off + len("connect() to ")
			p.target = word(l, a, off+len(head))
		}
	// recv()/readv()/writev()/send() failures name the client too
	// ("while reading client request headers"): only upstream ones count.
	case toUpstream && p.errno != 0:
		p.class = errnoClass(p.errno)
	}
}

// ownFileErrno: permission, space and read-only failures on nginx's files;
// a missing file only on the way upstream (its temp directory is gone),
// since a missing favicon.ico is a plain 404.
func ownFileErrno(n int, toUpstream bool) bool {
	switch n {
	case 1, 13, 28, 30, 122:
		return true
	case 2:
		return toUpstream
	}
	return false
}

// fileOps are the calls nginx logs with the path it failed on.
var fileOps = [][]byte{[]byte(`open() "`), []byte(`mkdir() "`), []byte(`stat() "`), []byte(`opendir() "`), []byte(`open() temp file "`)}

// fileOp is where the quoted path starts in head when head is a failed
// file operation of nginx's, else 0.
func fileOp(head []byte) int {
	for _, op := range fileOps {
		if prefix(head, op) {
			return len(op)
		}
	}
	return 0
}

// upstreamClass classifies the messages that start with "upstream".
func upstreamClass(head []byte) Class {
	switch {
	case prefix(head, nUpstreamTimedOut):
		return Timeout
	case prefix(head, nUpstreamPrematurelyClosedStream):
		return GRPC
	case prefix(head, nUpstreamPrematurelyClosed):
		return Closed
	case prefix(head, nUpstreamSentTooBigHeader):
		return HeaderTooBig
	case prefix(head, nUpstreamRejectedRequest), prefix(head, nUpstreamSentGoaway),
		prefix(head, nUpstreamSentFrameFor), prefix(head, nUpstreamSentUnexpectedHttp2):
		return GRPC
	case prefix(head, nUpstreamSentNoValid), prefix(head, nUpstreamSentInvalid),
		prefix(head, nUpstreamSentDuplicateHeader), prefix(head, nUpstreamSentUnsupportedFastcgi),
		prefix(head, nUpstreamSentUnexpectedFastcgi):
		return InvalidHeader
	case prefix(head, nUpstreamSslCertificate):
		return TLS
	case prefix(head, nUpstreamServerTemporarilyDisabled):
		return ServerDisabled
	}
	return Other
}

// clientClosed matches "client prematurely closed connection" and the
// event methods' "epoll_wait() reported that client prematurely closed
// connection", without scanning every message for it.
func clientClosed(head []byte) bool {
	if prefix(head, nClientPrematurelyClosedConnection) {
		return true
	}
	sp := bytes.IndexByte(head[:min(len(head), 16)], ' ')
	if sp < 2 || head[sp-2] != '(' || head[sp-1] != ')' {
		return false
	}
	return prefix(head[sp:], nReportedThatClient)
}

func errnoClass(n int) Class {
	switch n {
	case 111:
		return Refused
	case 13:
		return PermissionDenied
	case 2:
		return NoSuchFile
	case 11:
		return Again
	case 113:
		return NoRoute
	case 101:
		return NetUnreachable
	case 99:
		return AddrNotAvail
	case 104:
		return Reset
	case 32:
		return BrokenPipe
	case 110:
		return Timeout
	}
	return Other
}

func sortCounts(c []Count) {
	slices.SortFunc(c, func(a, b Count) int {
		if a.Lines != b.Lines {
			return b.Lines - a.Lines
		}
		if a.Class != b.Class {
			return strings.Compare(string(a.Class), string(b.Class))
		}
		if a.Target != b.Target {
			return strings.Compare(a.Target, b.Target)
		}
		return strings.Compare(a.Phase, b.Phase)
	})
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
