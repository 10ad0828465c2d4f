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
	nCouldNotBeResolved                = []byte(" could not be resolved")
	nFastcgiSentInStderr               = []byte("FastCGI sent in stderr")
	nSslHandshake                      = []byte("SSL handshake")
	nSsl                               = []byte("SSL_")
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
func classify(l, head []byte, off int, p *line, resolver span) {
	phase := p.phase.bytes(l)
	toUpstream := bytes.Contains(phase, []byte("upstream"))
	if !p.upstream.empty() {
		p.target = targetOf(l, p.upstream)
	}
	p.class = Other
	switch {
	case prefix(head, nFastcgiSentInStderr):
		p.class = FastCGIStderr
	case has(head, nClientPrematurelyClosedConnection) || has(phase, nClientPrematurelyClosedConnection):
		p.class = ClientClosed
	case has(head, nWorkerConnectionsAreNotEnough):
		p.class = WorkerConns
	case p.errno == 24:
		p.class = TooManyFiles
	case prefix(head, nUpstreamTimedOut):
		p.class = Timeout
	case prefix(head, nUpstreamPrematurelyClosedStream):
		p.class = GRPC
	case prefix(head, nUpstreamPrematurelyClosed):
		p.class = Closed
	case prefix(head, nUpstreamSentTooBigHeader):
		p.class = HeaderTooBig
	case prefix(head, nUpstreamRejectedRequest), prefix(head, nUpstreamSentGoaway),
		prefix(head, nUpstreamSentFrameFor), prefix(head, nUpstreamSentUnexpectedHttp2):
		p.class = GRPC
	case prefix(head, nUpstreamSentNoValid), prefix(head, nUpstreamSentInvalid),
		prefix(head, nUpstreamSentDuplicateHeader), prefix(head, nUpstreamSentUnsupportedFastcgi),
		prefix(head, nUpstreamSentUnexpectedFastcgi):
		p.class = InvalidHeader
	case prefix(head, nUpstreamSslCertificate):
		p.class = TLS
	// The same SSL wording is logged for clients' handshakes; only the
	// phase says the peer was the upstream.
	case toUpstream && (prefix(head, nSsl) || has(head, nSslHandshake)):
		p.class = TLS
	case prefix(head, nNoResolverDefinedToResolve):
		p.class = NoResolver
		a := off + len("no resolver defined to resolve ")
		p.target = word(l, a, off+len(head))
	case has(head, nCouldNotBeResolved):
		p.class = ResolveFailed
		e := off + bytes.Index(head, []byte(" could not be resolved"))
		a := bytes.LastIndexByte(l[off:e], ' ') + 1 + off
		p.target = span{a, e}
	case bytes.HasPrefix(phase, []byte("resolving")):
		p.class = ResolverError
		if !resolver.empty() {
			p.target = resolver
		}
	case prefix(head, nNoLiveUpstreams):
		p.class = NoLiveUpstreams
	case prefix(head, nUpstreamServerTemporarilyDisabled):
		p.class = ServerDisabled
	case prefix(head, nHostNotFoundInUpstream):
		p.class = HostNotFound
		a := off + len("host not found in upstream \"")
		e := bytes.IndexByte(l[a:off+len(head)], '"')
		if e < 0 {
			e = off + len(head) - a
		}
		p.target = span{a, a + e}
	case prefix(head, nConnect):
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

// errnoClass names a failed socket call to a peer by its errno.
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
		return strings.Compare(a.Target, b.Target)
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
