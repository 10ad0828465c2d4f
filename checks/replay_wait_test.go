package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// A request through nginx is given the user's deadline on the first run,
// and after a fix as long as nginx waits for that location's backend (up
// to the probe's cap), so that a slow answer a raised timeout now allows is
// seen as the answer it is.
func TestReplayWait(t *testing.T) {
	set := func(kv ...string) nginx.Settings {
		s := nginx.Settings{}
		for i := 0; i+1 < len(kv); i += 2 {
			s[kv[i]] = []nginx.Directive{{Name: kv[i], Args: []string{kv[i+1]}}}
		}
		return s
	}
	s := &Snapshot{Options: Options{Timeout: 3 * time.Second}}
	s.Config = &nginx.Config{Passes: []nginx.Pass{
		{Module: "proxy", Settings: set("proxy_read_timeout", "6s", "proxy_connect_timeout", "1s")},
		{Module: "proxy"}, // nginx's defaults: 60s + 60s
		{Module: "fastcgi", Settings: set("fastcgi_read_timeout", "1s", "fastcgi_connect_timeout", "500ms")},
	}}
	for _, tt := range []struct {
		pass int
		from string
		want time.Duration
	}{
		{0, "error log", 3 * time.Second},
		{0, "before the fix", 8 * time.Second}, // 1s + 6s + 1s
		{1, "before the fix", 10 * time.Second},
		{2, "before the fix", 3 * time.Second}, // nginx gives up first
		{-1, "before the fix", 3 * time.Second},
	} {
		got, _, _ := s.replayWait(Replay{Pass: tt.pass, From: tt.from})
		if got != tt.want {
			t.Errorf("pass %d from %q: waits %s, want %s", tt.pass, tt.from, got, tt.want)
		}
	}
}
