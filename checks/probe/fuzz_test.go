package probe

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// answerOver runs speak against a backend that sends data and closes,
// over an in-memory pipe; whatever the bytes, the probe must return.
func answerOver(t *testing.T, data []byte, speak func(context.Context, net.Conn, *HTTP)) *HTTP {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		server.SetDeadline(time.Now().Add(time.Second))
		go io.Copy(io.Discard, server)
		server.Write(data)
	}()
	client.SetDeadline(time.Now().Add(time.Second))
	h := &HTTP{}
	speak(context.Background(), client, h)
	return h
}

func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		okResponse, "HTTP/1.0 200 OK\n\n", "HTTP/1.1 abc\r\n\r\n", "HTTP/1.1 200", "\x16\x03\x01\x00", "\x15",
		"SSH-2.0-x\r\n", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\n\x00: x\r\n\r\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := answerOver(t, data, func(ctx context.Context, c net.Conn, h *HTTP) {
			httpGet(ctx, c, tcpTarget("http", "127.0.0.1:80"), Ask{}, h)
		})
		if (h.Status == 0) == (h.Class == "") {
			t.Fatalf("status %d with class %q for %q", h.Status, h.Class, data)
		}
		if h.Status != 0 && (h.Status < 100 || h.Status > 999) {
			t.Fatalf("status %d from %q", h.Status, data)
		}
	})
}

func FuzzFastCGIResponse(f *testing.F) {
	for _, s := range []string{"\x01\x0a\x00\x00\x00\x00\x00\x00", "\x01\x0a\x00\x00\xff\xff\xff\x00", "\x01", "\x01\x00", "HTTP/1.1 200 OK\r\n\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := answerOver(t, data, fastcgiGetValues)
		if (h.Status == 0) == (h.Class == "") {
			t.Fatalf("status %d with class %q for %q", h.Status, h.Class, data)
		}
	})
}
