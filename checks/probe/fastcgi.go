package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// FastCGI record types used here (the FastCGI 1.0 specification).
const (
	fcgiVersion   = 1
	fcgiGetValues = 9
	fcgiMaxType   = 11 // FCGI_UNKNOWN_TYPE, the highest defined type
	fcgiHeaderLen = 8
)

// getValuesRecord asks for FCGI_MAX_CONNS, FCGI_MAX_REQS and FCGI_MPXS_CONNS.
// A management record runs no script, so probing a production pool is harmless,
// and php-fpm answers it with FCGI_GET_VALUES_RESULT.
var getValuesRecord = func() []byte {
	var body []byte
	for _, name := range []string{"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"} {
		body = append(body, byte(len(name)), 0)
		body = append(body, name...)
	}
	pad := (8 - len(body)%8) % 8
	rec := []byte{fcgiVersion, fcgiGetValues, 0, 0, byte(len(body) >> 8), byte(len(body)), byte(pad), 0}
	rec = append(rec, body...)
	return append(rec, make([]byte, pad)...)
}()

// fastcgiGetValues sends the management record and accepts any valid
// FastCGI record in answer: a backend that speaks FastCGI at all is what
// nginx needs to get past "reading response header".
func fastcgiGetValues(ctx context.Context, conn net.Conn, h *HTTP) {
	sent := time.Now()
	if _, err := conn.Write(getValuesRecord); err != nil {
		h.Class, h.Error = ioFailure(ctx, err)
		return
	}
	var hdr [fcgiHeaderLen]byte
	n, err := io.ReadFull(conn, hdr[:1])
	if n > 0 {
		h.TTFB = time.Since(sent)
		n, err = io.ReadFull(conn, hdr[1:])
		n++
	}
	if err != nil {
		if n > 0 {
			if msg := notFastCGI(hdr[:n]); msg != "" {
				h.Class, h.Error, h.Speaks = ClassInvalidHeader, msg, recognise(hdr[:n])
				return
			}
		}
		h.Class, h.Error = ioFailure(ctx, err)
		if h.Class == ClassClosed {
			h.Error = fmt.Sprintf("backend closed the connection after %d bytes, before a whole FastCGI record header", n)
		}
		return
	}
	if msg := notFastCGI(hdr[:]); msg != "" {
		h.Class, h.Error, h.Speaks = ClassInvalidHeader, msg, recognise(hdr[:])
		return
	}
	length := int(hdr[4])<<8 | int(hdr[5])
	padding := int(hdr[6])
	// Both are at most 65535 + 255 bytes by construction: no cap needed.
	if _, err := io.ReadFull(conn, make([]byte, length+padding)); err != nil {
		h.Class, h.Error = ioFailure(ctx, err)
		if h.Class == ClassClosed {
			h.Error = "backend closed the connection inside a FastCGI record"
		}
		return
	}
	h.HeaderBytes = fcgiHeaderLen + length
	h.Status = 200
}

// notFastCGI says why a record header cannot be FastCGI, naming the
// protocol the backend speaks when it is recognisable.
func notFastCGI(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case recognise(b) == "http":
		return "port speaks HTTP, not FastCGI (use proxy_pass)"
	case recognise(b) == "tls":
		return "port speaks TLS, not FastCGI"
	case recognise(b) == "ssh":
		return "port speaks SSH, not FastCGI"
	case b[0] != fcgiVersion:
		return fmt.Sprintf("backend sent unsupported FastCGI protocol version %d: starts %s", b[0], quoteStart(b))
	case len(b) >= 2 && (b[1] == 0 || b[1] > fcgiMaxType):
		return fmt.Sprintf("backend sent invalid FastCGI record type %d", b[1])
	}
	return ""
}
