package checks_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestHealthyUwsgiIni: a real uwsgi whose http-socket is set in its ini
// file, behind proxy_pass http://, answers 200 through nginx. Its command
// line does not say the protocol, so nothing may call it a uwsgi-protocol
// socket: no cause, verdict ok (exit 0), not "Use uwsgi_pass".
func TestHealthyUwsgiIni(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx workers as www-data: root is needed")
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	_, err = exec.LookPath("uwsgi")
	labtest.Need(t, err == nil, "uwsgi is not installed (scripts/test.sh installs uwsgi-core)")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := lab.Start(ctx, lab.HealthyUwsgiIni())
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer l.Close()
	for _, st := range l.Trigger(ctx, 3) {
		if st != 200 {
			t.Fatalf("a request through nginx got %d, want 200: the lab is not healthy", st)
		}
	}
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx, Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(o.Causes) != 0 {
		t.Fatalf("a working uwsgi site: got causes\n%s", describe(o.Causes))
	}
	if o.Verdict.Status != "ok" {
		t.Errorf("verdict %q (%s), want ok", o.Verdict.Status, o.Verdict.Summary)
	}
}
