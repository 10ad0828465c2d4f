package probe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// A name with two addresses, the backend on one: nginx sends requests to
// both, so the refusal at the other is evidence, not noise.
func TestConnectEveryAddress(t *testing.T) {
	v6, err := net.Listen("tcp", "[::1]:0")
	labtest.Need(t, err == nil, "no IPv6 loopback on this machine")
	v6.Close()

	addr := serve(t, listen(t, "tcp", "127.0.0.1:0"), answer(okResponse, 0))
	_, port, _ := net.SplitHostPort(addr)
	if c, err := net.Dial("tcp", net.JoinHostPort("::1", port)); err == nil {
		c.Close()
		t.Skipf("[::1]:%s is taken by another program", port)
	}
	s := testSys{hosts: map[string][]string{"app.test": {"::1", "127.0.0.1"}}}
	tg := tcpTarget("http", "app.test:"+port)

	got := All(context.Background(), s, []nginx.Target{tg}, nil, time.Second, 0)[tg.Address]
	if got.Status != Connected || got.HTTP == nil || got.HTTP.Status != 503 {
		t.Fatalf("got %s %+v, want connected and answered at 127.0.0.1", got.Status, got.HTTP)
	}
	if len(got.Peers) != 2 {
		t.Fatalf("got peers %+v, want one result per address", got.Peers)
	}
	failed := got.Failed()
	if len(failed) != 1 || failed[0].Address != "[::1]:"+port || failed[0].Status != Refused || failed[0].Errno != 111 {
		t.Errorf("failed peers: got %+v, want [::1]:%s refused (111)", failed, port)
	}
	if !strings.Contains(got.Error, "[::1]:"+port) {
		t.Errorf("error %q does not name the refusing address", got.Error)
	}

	// Both refuse: the target is refused, with both addresses named.
	dead := refusedAddr(t, "127.0.0.1")
	_, dport, _ := net.SplitHostPort(dead)
	tg = tcpTarget("http", "app.test:"+dport)
	r := Connect(context.Background(), s, tg, time.Second)
	if r.Status != Refused || len(r.Failed()) != 2 {
		t.Errorf("both refused: got %s %+v", r.Status, r.Peers)
	}
}

// The probe asks what users asked: the failing request's method, path and
// Host; never a method that could change something.
func TestRequestAsks(t *testing.T) {
	got := make(chan string, 1)
	addr := serve(t, listen(t, "tcp", "127.0.0.1:0"), func(c net.Conn) {
		defer c.Close()
		got <- readRequest(c)
		c.Write([]byte(okResponse))
	})
	for _, tc := range []struct {
		ask  Ask
		line string
		host string
	}{
		{Ask{}, "GET / HTTP/1.0", "Host: " + addr},
		{Ask{Method: "HEAD", Path: "/api/orders?id=7", Host: "shop.example"}, "HEAD /api/orders?id=7 HTTP/1.0", "Host: shop.example"},
		{Ask{Method: "POST", Path: "/checkout"}, "GET /checkout HTTP/1.0", "Host: " + addr},
		{Ask{Path: "/a b\r\nX-Injected: 1"}, "GET /abX-Injected:1 HTTP/1.0", "Host: " + addr},
	} {
		h := Request(context.Background(), sys, tcpTarget("http", addr), tc.ask, time.Second)
		if h == nil || h.Status != 503 {
			t.Fatalf("%+v: got %+v", tc.ask, h)
		}
		req := <-got
		if first, _, _ := strings.Cut(req, "\r\n"); first != tc.line || !containsLine(req, tc.host) {
			t.Errorf("%+v: backend got %q, want %q with %q", tc.ask, req, tc.line, tc.host)
		}
		if !strings.HasPrefix(h.Request, strings.Fields(tc.line)[0]+" "+strings.Fields(tc.line)[1]) {
			t.Errorf("HTTP.Request %q does not say what was asked (%q)", h.Request, tc.line)
		}
	}
}

// A backend slower than the probe's timeout but within the read timeout in
// force is measured, not taken for a timeout of ngxdoctor's own.
func TestRequestWaitsForTheReadTimeout(t *testing.T) {
	const delay = 1200 * time.Millisecond
	addr := serve(t, listen(t, "tcp", "127.0.0.1:0"), answer(okResponse, delay))
	tg := tcpTarget("http", addr)

	h := Request(context.Background(), sys, tg, Ask{ReadTimeout: 3 * time.Second}, time.Second)
	if h == nil || h.Status != 503 || h.Class != "" {
		t.Fatalf("read timeout 3s, answer after %v: got %+v, want the answer", delay, h)
	}
	if h.TTFB < delay {
		t.Errorf("TTFB %v, want at least the backend's %v", h.TTFB, delay)
	}

	h = Request(context.Background(), sys, tg, Ask{ReadTimeout: 500 * time.Millisecond}, 700*time.Millisecond)
	if h == nil || h.Class != ClassTimeout || !strings.Contains(h.Error, "longer than the read timeout of 500ms") {
		t.Fatalf("read timeout 500ms: got %+v, want a timeout stated against it", h)
	}
	if h.Waited < 500*time.Millisecond || h.ReadTimeout != 500*time.Millisecond {
		t.Errorf("waited %v against %v, want at least the read timeout", h.Waited, h.ReadTimeout)
	}
}

func TestAskWait(t *testing.T) {
	for _, tc := range []struct {
		read, timeout, want time.Duration
	}{
		{0, 3 * time.Second, 3 * time.Second},
		{time.Second, 3 * time.Second, 3 * time.Second},
		{3 * time.Second, 3 * time.Second, 3*time.Second + 400*time.Millisecond},
		{60 * time.Second, 3 * time.Second, MaxWait},
		{60 * time.Second, 20 * time.Second, 20 * time.Second},
	} {
		if got := (Ask{ReadTimeout: tc.read}).wait(tc.timeout); got != tc.want {
			t.Errorf("read timeout %v, probe timeout %v: got %v, want %v", tc.read, tc.timeout, got, tc.want)
		}
	}
}
