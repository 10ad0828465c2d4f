package fixes

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// A fix is verified only when every request that failed before it
// succeeds: one that still fails (here a location the fix does not touch,
// named among the cause's requests) keeps it unverified, and the edit is
// rolled back.
func TestVerifiedOnlyWhenTheFailingRequestsSucceed(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprintln(w, "slow")
	})
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	l := startNginx(t, worldDir(t), "    server {\n        listen 127.0.0.1:{{PORT}};\n"+
		"        location /app/ { proxy_pass http://"+addr+"; proxy_read_timeout 1s; }\n"+
		"        location /down/ { proxy_pass http://"+dead+"; }\n    }\n")
	l.wantStatus("/app/", 504)
	l.wantStatus("/down/", 502)
	before := readFile(t, l.Conf)
	at := l.at("location /app/")
	cause := checks.Cause{ID: checks.CauseUpstreamTimeout, Target: addr, Facts: checks.Facts{
		Setting: "proxy_read_timeout", SettingAt: at, Took: 1500 * time.Millisecond, LocationAt: at, PassAt: at}}
	pass := l.proxyPass(addr)
	pass.Settings["proxy_read_timeout"] = []nginx.Directive{{Name: "proxy_read_timeout", Args: []string{"1s"}, At: l.pos("location /app/")}}
	local := fmt.Sprintf("127.0.0.1:%d", l.Port)
	mk := func(o *checks.Outcome, reqs ...checks.Replay) {
		o.Snapshot.Replays = reqs
		o.Causes[0].Requests = nil
		for _, r := range reqs {
			o.Causes[0].Requests = append(o.Causes[0].Requests, r.Text()+" → "+r.Answer())
		}
	}
	app := checks.Replay{Method: "GET", Path: "/app/", Host: "lab.test", Addr: local, Status: 504}
	down := checks.Replay{Method: "GET", Path: "/down/", Host: "lab.test", Addr: local, Status: 502}

	o := l.outcome([]nginx.Pass{pass}, cause)
	mk(o, app, down)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, o.Causes[0]), "timeout")
	a, err := e.Apply(context.Background(), o, f, Options{})
	if err == nil || a.Verified || !a.RolledBack {
		t.Fatalf("verified %v, rolled back %v, err %v, want not verified and rolled back\n%s", a.Verified, a.RolledBack, err, strings.Join(a.Log, "\n"))
	}
	if len(a.Requests) != 2 || !a.Requests[0].OK || a.Requests[1].OK || a.Requests[1].After != "502" {
		t.Fatalf("requests asked again: %+v", a.Requests)
	}
	if readFile(t, l.Conf) != before {
		t.Fatal("the rolled-back fix left the config changed")
	}

	// With only its own failing request, the same fix is verified by it.
	o = l.outcome([]nginx.Pass{pass}, cause)
	mk(o, app)
	f = fixByKind(t, e.For(o, o.Causes[0]), "timeout")
	a = apply(t, e, o, f)
	if !a.Verified || len(a.Requests) != 1 || a.Requests[0].After != "200" {
		t.Fatalf("verified %v by %+v\n%s", a.Verified, a.Requests, strings.Join(a.Log, "\n"))
	}
	undo(t, e, "")
	if readFile(t, l.Conf) != before {
		t.Fatal("undo did not restore the config")
	}
}
