package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// A request through nginx is given as long as nginx waits for that
// location's backend (up to the probe's cap) and a second, or the user's
// deadline when that is longer, so that a slow answer is seen as the answer
// it is.
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
		{0, "error log", 8 * time.Second},      // 1s + 6s + 1s
		{0, "before the fix", 8 * time.Second}, // the same after a fix
		{1, "location", 11 * time.Second},      // 60s + 60s, capped at 10s, + 1s
		{2, "error log", 3 * time.Second},      // nginx gives up before the deadline
		{-1, "error log", 3 * time.Second},
	} {
		got, _, _ := s.replayWait(Replay{Pass: tt.pass, From: tt.from})
		if got != tt.want {
			t.Errorf("pass %d from %q: waits %s, want %s", tt.pass, tt.from, got, tt.want)
		}
	}
}
