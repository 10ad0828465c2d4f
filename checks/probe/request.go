package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// MaxHeaderBytes caps how much of a response header is read: far above any
// proxy_buffer_size, so a bigger header is broken whatever the config says.
const MaxHeaderBytes = 1 << 20

// Error classes of HTTP.Class; they are the logs package's names for the
// same failures, so a probe and an error-log line can be matched.
const (
	ClassClosed        = "closed"
	ClassReset         = "reset"
	ClassTimeout       = "timeout"
	ClassInvalidHeader = "invalid-header"
	ClassTLS           = "tls"
	ClassBrokenPipe    = "broken-pipe"
	ClassHeaderTooBig  = "header-too-big"
	// ClassCanceled is not nginx's: the caller gave up before an answer.
	ClassCanceled = "canceled"
)

// MaxWait caps how long a probe waits for an answer when the read timeout
// in force is longer than the probe's deadline: nginx's default of 60s
// would hold a run for a minute. A probe that gives up at the cap says so.
const MaxWait = 10 * time.Second

// Ask is what a probe asks once connected: the failing request when one is
// known, so that the backend is judged on what users ask of it, else
// nginx's default GET / with $proxy_host.
type Ask struct {
	// Method is GET or HEAD; any other is sent as GET, since a probe
	// must never change anything on the backend.
	Method string
	// Path is the request target ("/" when empty).
	Path string
	// Host is the Host header ($proxy_host when empty).
	Host string
	// ReadTimeout is the *_read_timeout in force for the request: the
	// probe waits at least that long for an answer (up to MaxWait), so
	// that a slow answer is measured, not cut short by ngxdoctor.
	ReadTimeout time.Duration
}

// wait is how long the exchange may take: the probe's timeout, or the read
// timeout in force plus a margin when that is longer, capped at MaxWait.
func (a Ask) wait(timeout time.Duration) time.Duration {
	w := timeout
	if a.ReadTimeout > 0 {
		w = max(w, a.ReadTimeout+a.ReadTimeout/10+100*time.Millisecond)
	}
	return min(w, max(MaxWait, timeout))
}

func (a Ask) method() string {
	if a.Method == "HEAD" {
		return "HEAD"
	}
	return "GET"
}

// path keeps a request target from a log from splitting the request line.
func (a Ask) path() string {
	p := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, a.Path)
	if p == "" || (p[0] != '/' && p != "*") {
		return "/" + p
	}
	return p
}

// Request connects to t and speaks its protocol as nginx would, with one
// deadline of timeout for the connect and another for the exchange (nginx's
// proxy_connect_timeout and proxy_read_timeout, see Ask). It returns nil
// when t's protocol is not probed (uwsgi, scgi, grpc, memcached) or when
// the connection fails; Connect says why.
func Request(ctx context.Context, sys host.System, t nginx.Target, ask Ask, timeout time.Duration) *HTTP {
	if protocol(t) == "" {
		return nil
	}
	conn, _, p := dial(ctx, sys, t, timeout)
	if conn == nil {
		return nil
	}
	defer conn.Close()
	return exchange(ctx, conn, p, t, ask, timeout)
}

// protocol is what the probe speaks to t: "http", "https", "fastcgi", or ""
// for protocols only connected to.
func protocol(t nginx.Target) string {
	switch t.Kind {
	case "http", "unix":
		return "http"
	case "https":
		return "https"
	case "fastcgi":
		return "fastcgi"
	}
	return ""
}

// exchange speaks t's protocol over an open connection and closes nothing.
func exchange(ctx context.Context, conn net.Conn, p peer, t nginx.Target, ask Ask, timeout time.Duration) *HTTP {
	proto := protocol(t)
	if proto == "" {
		return nil
	}
	h := &HTTP{Protocol: proto}
	if err := ctx.Err(); err != nil {
		h.Class, h.Error = ClassCanceled, "probe canceled: "+err.Error()
		return h
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	h.Waited = ask.wait(timeout)
	h.ReadTimeout = ask.ReadTimeout
	deadline := time.Now().Add(h.Waited)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := conn.SetDeadline(deadline); err != nil {
		h.Class, h.Error = ClassClosed, "connection unusable: "+err.Error()
		return h
	}
	// Reads and writes do not watch ctx; a deadline in the past wakes them.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	switch proto {
	case "https":
		tc, ok := handshake(ctx, conn, t, h)
		if !ok {
			return h
		}
		httpGet(ctx, tc, t, ask, h)
	case "http":
		httpGet(ctx, conn, t, ask, h)
	case "fastcgi":
		fastcgiGetValues(ctx, conn, h)
	}
	if h.TTFB > 0 {
		h.TTFBMs = float64(h.TTFB.Microseconds()) / 1000
	}
	if h.Class == ClassTimeout && h.HeaderBytes == 0 {
		h.Error = waitedText(h)
	}
	if h.Speaks == "" && h.HeaderBytes == 0 && proto != "https" &&
		(h.Class == ClassClosed || h.Class == ClassReset || h.Class == ClassBrokenPipe) && sniffTLS(ctx, p) {
		// A TLS server drops a plain request without a word; only a
		// handshake of our own shows that the scheme is what is wrong.
		h.Speaks = "tls"
		h.Error += "; the port speaks TLS (use https:// in the *_pass)"
	}
	return h
}

// waitedText says how long the probe waited against the read timeout in
// force, so a silent backend is not taken for ngxdoctor's own impatience.
func waitedText(h *HTTP) string {
	switch {
	case h.ReadTimeout <= 0:
		return fmt.Sprintf("no answer within %s", h.Waited)
	case h.Waited > h.ReadTimeout:
		return fmt.Sprintf("no answer within %s, longer than the read timeout of %s in force", h.Waited, h.ReadTimeout)
	}
	return fmt.Sprintf("no answer within %s (the probe's cap; the read timeout in force is %s)", h.Waited, h.ReadTimeout)
}

// sniffTLS reports whether the peer completes (or answers) a TLS handshake.
func sniffTLS(ctx context.Context, p peer) bool {
	if p.sys == nil || p.address == "" || ctx.Err() != nil {
		return false
	}
	conn, err := p.sys.Dial(ctx, p.network, p.address)
	if err != nil {
		return false
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	err = tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}).HandshakeContext(ctx)
	var alert tls.AlertError
	return err == nil || errors.As(err, &alert)
}

func handshake(ctx context.Context, conn net.Conn, t nginx.Target, h *HTTP) (net.Conn, bool) {
	name, _, _ := hostPort(t)
	tc := tls.Client(conn, &tls.Config{
		// nginx does not verify upstream certificates unless
		// proxy_ssl_verify is on, so a self-signed backend works through it.
		InsecureSkipVerify: true,
		ServerName:         name,
		// nginx's default proxy_ssl_protocols still include TLSv1 and TLSv1.1.
		MinVersion: tls.VersionTLS10,
	})
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return tc, true
	}
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &rhe):
		h.Class = ClassTLS
		h.Speaks = recognise(rhe.RecordHeader[:])
		if bytes.HasPrefix(rhe.RecordHeader[:], []byte("HTTP/")) {
			h.Error = "port speaks plain HTTP, not TLS"
		} else {
			h.Error = fmt.Sprintf("port does not speak TLS (answered %q)", rhe.RecordHeader[:])
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		h.Class, h.Error = ClassTLS, "peer closed connection in TLS handshake"
	default:
		class, msg := ioFailure(ctx, err)
		if class == ClassClosed || class == ClassBrokenPipe {
			class = ClassTLS
		}
		h.Class, h.Error = class, "tls handshake: "+msg
	}
	return nil, false
}

// httpGet sends the request as nginx does by default (HTTP/1.0,
// Connection: close) and reads the header block.
func httpGet(ctx context.Context, conn net.Conn, t nginx.Target, ask Ask, h *HTTP) {
	hostHeader := cleanHost(ask.Host)
	if hostHeader == "" {
		hostHeader = defaultHost(t)
	}
	h.Request = ask.method() + " " + ask.path() + " Host: " + hostHeader
	req := ask.method() + " " + ask.path() + " HTTP/1.0\r\nHost: " + hostHeader + "\r\nConnection: close\r\nUser-Agent: ngxdoctor\r\n\r\n"
	sent := time.Now()
	if _, err := io.WriteString(conn, req); err != nil {
		h.Class, h.Error = ioFailure(ctx, err)
		if h.Class == ClassBrokenPipe {
			h.Error = "backend closed the connection before reading the request: " + h.Error
		}
		return
	}

	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 16<<10)
	for {
		room := MaxHeaderBytes + 1 - len(buf)
		n, err := conn.Read(chunk[:min(len(chunk), room)])
		if n > 0 {
			if len(buf) == 0 {
				h.TTFB = time.Since(sent)
			}
			buf = append(buf, chunk[:n]...)
			if msg := badStart(buf); msg != "" {
				h.Class, h.Error = ClassInvalidHeader, msg
				if sp := recognise(buf); sp != "http" {
					h.Speaks = sp
				}
				return
			}
			if end := headerEnd(buf); end > 0 {
				h.HeaderBytes = end
				status, msg := parseHeader(buf[:end])
				if msg != "" {
					h.Class, h.Error = ClassInvalidHeader, msg
					return
				}
				h.Status = status
				return
			}
			if len(buf) > MaxHeaderBytes {
				h.HeaderBytes = len(buf)
				h.Class = ClassHeaderTooBig
				h.Error = fmt.Sprintf("response header larger than %d bytes", MaxHeaderBytes)
				return
			}
		}
		if err != nil {
			h.HeaderBytes = len(buf)
			class, msg := ioFailure(ctx, err)
			if class == ClassClosed {
				// nginx also says "prematurely closed" when part of a header came.
				msg = fmt.Sprintf("backend closed the connection after %d bytes, before the end of the response header", len(buf))
				if len(buf) > 0 {
					if m := statusLineProblem(buf); m != "" {
						class, msg = ClassInvalidHeader, m
					}
				}
			}
			h.Class, h.Error = class, msg
			return
		}
	}
}

// ioFailure names a read or write error in the logs' vocabulary.
func ioFailure(ctx context.Context, err error) (class, msg string) {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return ClassCanceled, "probe canceled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassClosed, "backend closed the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return ClassReset, "connection reset by peer (104)"
	case errors.Is(err, syscall.EPIPE):
		return ClassBrokenPipe, "broken pipe (32)"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), isTimeout(err), ctx.Err() != nil:
		return ClassTimeout, "no answer before the deadline"
	}
	return ClassClosed, err.Error()
}

// badStart reports, as soon as the first bytes show it, a response that is
// not HTTP; nginx gives up at the same point ("no valid HTTP/1.0 header").
func badStart(b []byte) string {
	const want = "HTTP/"
	n := min(len(b), len(want))
	if bytes.Equal(b[:n], []byte(want[:n])) {
		return statusLineProblem(b)
	}
	if isTLSRecord(b) {
		if len(b) < 2 {
			return "" // one byte cannot tell TLS from garbage yet
		}
		return "port speaks TLS, not plain HTTP (use https:// in the *_pass)"
	}
	if recognise(b) == "ssh" {
		return "port speaks SSH, not HTTP: starts " + quoteStart(b)
	}
	return "backend sent no valid HTTP/1.x header: starts " + quoteStart(b)
}

// recognise names the protocol whose first bytes b are, when it is one a
// backend port is commonly mistaken for.
func recognise(b []byte) string {
	switch {
	case len(b) >= 2 && isTLSRecord(b):
		return "tls"
	case bytes.HasPrefix(b, []byte("HT")):
		return "http"
	case bytes.HasPrefix(b, []byte("SSH-")):
		return "ssh"
	}
	return ""
}

// isTLSRecord: a TLS record (change_cipher_spec, alert, handshake or
// application data) of version 3.x, the only thing a TLS server answers.
func isTLSRecord(b []byte) bool {
	if len(b) == 0 || b[0] < 0x14 || b[0] > 0x17 {
		return false
	}
	return len(b) < 2 || b[1] == 0x03
}

// statusLineProblem checks the status line once it is complete.
func statusLineProblem(b []byte) string {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return ""
	}
	line := strings.TrimSuffix(string(b[:i]), "\r")
	if _, ok := parseStatusLine(line); !ok {
		return "backend sent an invalid status line: " + quoteStart([]byte(line))
	}
	return ""
}

// parseStatusLine accepts "HTTP/d.d NNN[ reason]" as nginx does.
func parseStatusLine(line string) (int, bool) {
	rest, ok := strings.CutPrefix(line, "HTTP/")
	if !ok || len(rest) < 7 {
		return 0, false
	}
	if rest[0] < '0' || rest[0] > '9' || rest[1] != '.' || rest[2] < '0' || rest[2] > '9' || rest[3] != ' ' {
		return 0, false
	}
	code := rest[4:7]
	if len(rest) > 7 && rest[7] != ' ' {
		return 0, false
	}
	n, err := strconv.Atoi(code)
	if err != nil || n < 100 || n > 999 || code[0] == '+' || code[0] == '-' {
		return 0, false
	}
	return n, true
}

// headerEnd is the length of the header block including its blank line,
// or 0 when it has not ended yet; nginx accepts bare LF line ends.
func headerEnd(b []byte) int {
	end := 0
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		end = i + 4
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 && (end == 0 || i+2 < end) {
		end = i + 2
	}
	return end
}

// parseHeader returns the status of a complete header block, or why nginx
// would reject it.
func parseHeader(b []byte) (int, string) {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	status, ok := parseStatusLine(lines[0])
	if !ok {
		return 0, "backend sent an invalid status line: " + quoteStart([]byte(lines[0]))
	}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return 0, "backend sent an invalid header line: " + quoteStart([]byte(l))
		}
		if strings.IndexByte(l, 0) >= 0 {
			return 0, "backend sent a NUL byte in a header line"
		}
	}
	return status, ""
}

func quoteStart(b []byte) string {
	if len(b) > 32 {
		b = b[:32]
	}
	return strconv.Quote(string(b))
}

// defaultHost is nginx's $proxy_host: the pass's host, with the port when
// it is not the scheme's default; "localhost" for a unix socket.
func defaultHost(t nginx.Target) string {
	if t.Network == "unix" || strings.HasPrefix(t.Address, "unix:") {
		return "localhost"
	}
	h, port, err := hostPort(t)
	if err != nil {
		return "localhost"
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if (t.Kind == "https" && port == 443) || (t.Kind != "https" && port == 80) {
		return h
	}
	return h + ":" + strconv.Itoa(port)
}

// cleanHost keeps a Host header from a config or flag from splitting the request.
func cleanHost(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}
