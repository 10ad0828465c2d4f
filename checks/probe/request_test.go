package probe

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

const okResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"

func TestRequest(t *testing.T) {
	// Generous: a loaded CI machine under -race moves 1 MiB slowly.
	const timeout = 2 * time.Second
	tcp := func(h func(net.Conn)) string { return serve(t, listen(t, "tcp", "127.0.0.1:0"), h) }
	tlsBackend := func(h func(net.Conn)) string {
		return serve(t, tls.NewListener(listen(t, "tcp", "127.0.0.1:0"), tlsConfig(t)), h)
	}
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	huge := "HTTP/1.1 200 OK\r\nX-Huge: " + strings.Repeat("a", 2<<20) + "\r\n\r\n"
	getValuesResult := string([]byte{1, 10, 0, 0, 0, 8, 0, 0, 14, 1}) + "FCGI_MAX_CONNS"[:6]
	sock := filepath.Join(t.TempDir(), "app.sock")
	serve(t, listen(t, "unix", sock), answer("HTTP/1.0 200 OK\r\n\r\n", 0))

	tests := []struct {
		name    string
		target  nginx.Target
		status  int
		class   string
		speaks  string
		inError string
		// minTTFB is a floor the backend enforces; minBytes a floor on HeaderBytes.
		minTTFB  time.Duration
		minBytes int
		slow     bool
	}{
		{name: "answers 503 after 50ms", target: tcpTarget("http", tcp(answer(okResponse, 50*time.Millisecond))),
			status: 503, minTTFB: 50 * time.Millisecond, minBytes: len(okResponse)},
		{name: "answers on [::1]", target: tcpTarget("http", serve(t, listen(t, "tcp", "[::1]:0"), answer(okResponse, 0))),
			status: 503},
		{name: "answers on a unix socket", target: unixTarget("unix", sock), status: 200},
		{name: "bare LF line ends", target: tcpTarget("http", tcp(answer("HTTP/1.0 200 OK\nServer: x\n\n", 0))), status: 200},
		{name: "64 KiB header", target: tcpTarget("http", tcp(answer(big, 0))), status: 200, minBytes: 64 << 10},
		{name: "header over 1 MiB", target: tcpTarget("http", tcp(answer(huge, 0))), class: ClassHeaderTooBig, minBytes: MaxHeaderBytes},
		{name: "closes after reading the request", target: tcpTarget("http", tcp(answer("", 0))), class: ClassClosed},
		{name: "closes inside the header", target: tcpTarget("http", tcp(answer("HTTP/1.1 200 OK\r\nX-A: b", 0))), class: ClassClosed, minBytes: 1},
		{name: "resets", target: tcpTarget("http", tcp(func(c net.Conn) {
			readRequest(c)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		})), class: ClassReset},
		{name: "sleeps past the deadline", target: tcpTarget("http", tcp(func(c net.Conn) {
			io.Copy(io.Discard, c)
		})), class: ClassTimeout, slow: true},
		{name: "sends garbage", target: tcpTarget("http", tcp(answer("hello there\r\n\r\n", 0))), class: ClassInvalidHeader, inError: `"hello there`},
		{name: "bad status line", target: tcpTarget("http", tcp(answer("HTTP/1.1 abc\r\n\r\n", 0))), class: ClassInvalidHeader, inError: "status line"},
		{name: "SSH banner", target: tcpTarget("http", tcp(func(c net.Conn) {
			c.Write([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"))
			io.Copy(io.Discard, c)
		})), class: ClassInvalidHeader, speaks: "ssh", inError: "SSH"},
		{name: "TLS alert to plain HTTP", target: tcpTarget("http", tcp(answer("\x15\x03\x01\x00\x02\x02\x28", 0))),
			class: ClassInvalidHeader, speaks: "tls", inError: "speaks TLS"},
		{name: "TLS server behind http://", target: tcpTarget("http", tlsBackend(answer(okResponse, 0))),
			class: ClassClosed, speaks: "tls", inError: "speaks TLS"},
		{name: "https to a TLS server", target: tcpTarget("https", tlsBackend(answer(okResponse, 0))), status: 503},
		{name: "https to plain HTTP", target: tcpTarget("https", tcp(func(c net.Conn) {
			c.Read(make([]byte, 512))
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		})), class: ClassTLS, speaks: "http", inError: "port speaks plain HTTP, not TLS"},
		{name: "https to a port that closes", target: tcpTarget("https", tcp(func(c net.Conn) {
			c.Read(make([]byte, 4096))
			c.Close()
		})),
			class: ClassTLS, inError: "closed"},
		{name: "fastcgi answered", target: tcpTarget("fastcgi", tcp(func(c net.Conn) {
			c.Read(make([]byte, 512))
			c.Write([]byte(getValuesResult))
			io.Copy(io.Discard, c)
		})), status: 200, minBytes: 16},
		{name: "fastcgi to an HTTP port", target: tcpTarget("fastcgi", tcp(func(c net.Conn) {
			c.Read(make([]byte, 512))
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		})), class: ClassInvalidHeader, speaks: "http", inError: "HTTP, not FastCGI"},
		{name: "fastcgi closes", target: tcpTarget("fastcgi", tcp(func(c net.Conn) {
			c.Read(make([]byte, 512))
			c.Close()
		})), class: ClassClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got := Request(context.Background(), sys, tc.target, Ask{}, timeout)
			took := time.Since(start)
			if got == nil {
				t.Fatal("got no answer, want one")
			}
			if got.Status != tc.status || got.Class != tc.class || got.Speaks != tc.speaks {
				t.Fatalf("got status %d class %q speaks %q (%s), want %d %q %q",
					got.Status, got.Class, got.Speaks, got.Error, tc.status, tc.class, tc.speaks)
			}
			if (tc.class == "") != (got.Error == "") {
				t.Errorf("error %q with class %q", got.Error, got.Class)
			}
			if !strings.Contains(got.Error, tc.inError) {
				t.Errorf("error %q, want it to say %q", got.Error, tc.inError)
			}
			if got.HeaderBytes < tc.minBytes {
				t.Errorf("header bytes %d, want at least %d", got.HeaderBytes, tc.minBytes)
			}
			if got.TTFB < tc.minTTFB || (tc.status != 0 && got.TTFB <= 0) {
				t.Errorf("TTFB %v, want at least %v", got.TTFB, tc.minTTFB)
			}
			if tc.slow && took < timeout {
				t.Errorf("gave up after %v, before the %v deadline", took, timeout)
			}
			if took > 2*timeout+time.Second {
				t.Errorf("took %v, want at most connect + request deadlines", took)
			}
		})
	}
}

func TestRequestHostHeader(t *testing.T) {
	got := make(chan string, 2)
	addr := serve(t, listen(t, "tcp", "127.0.0.1:0"), func(c net.Conn) {
		defer c.Close()
		got <- readRequest(c)
		c.Write([]byte(okResponse))
	})
	for _, tc := range []struct{ given, want string }{
		{"", "Host: " + addr + "\r\n"},
		{"shop.example\r\nX-Injected: 1", "Host: shop.exampleX-Injected: 1\r\n"},
	} {
		if h := Request(context.Background(), sys, tcpTarget("http", addr), Ask{Host: tc.given}, time.Second); h == nil || h.Status != 503 {
			t.Fatalf("request with Host %q failed: %+v", tc.given, h)
		}
		req := <-got
		if !strings.HasPrefix(req, "GET / HTTP/1.0\r\n") || !strings.Contains(req, tc.want) || !strings.Contains(req, "Connection: close\r\n") {
			t.Errorf("backend got %q, want nginx's request with %q", req, tc.want)
		}
	}
}

func TestRequestNotMade(t *testing.T) {
	up := serve(t, listen(t, "tcp", "127.0.0.1:0"), answer(okResponse, 0))
	for _, tg := range []nginx.Target{
		tcpTarget("http", refusedAddr(t, "127.0.0.1")),
		tcpTarget("uwsgi", up),
		tcpTarget("grpc", up),
		{Kind: "http", Address: "$upstream", Dynamic: true},
	} {
		if h := Request(context.Background(), sys, tg, Ask{}, time.Second); h != nil {
			t.Errorf("%s %s: got %+v, want no request", tg.Kind, tg.Address, h)
		}
	}
}

func TestRequestHonoursCancel(t *testing.T) {
	addr := serve(t, listen(t, "tcp", "127.0.0.1:0"), func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	h := Request(ctx, sys, tcpTarget("http", addr), Ask{}, 10*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("canceled request took %v", took)
	}
	if h == nil || h.Class != ClassCanceled {
		t.Fatalf("got %+v, want class %q", h, ClassCanceled)
	}
}
