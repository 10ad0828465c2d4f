package checks_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// A backend that takes 3 s behind a proxy_read_timeout of 10s: users get
// a slow 200, so the check, with its default 3 s deadline, must wait for
// nginx's answer and call it healthy, not report a 502 it never saw.
func TestSlowAnswerIsNotAFailure(t *testing.T) {
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := lab.Find("upstream-timeout") // its backend takes 3 s
	l, err := lab.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	site, err := os.ReadFile(l.Site)
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(site), "proxy_read_timeout 1s;", "proxy_read_timeout 10s;", 1)
	if slow == string(site) {
		t.Fatalf("the lab's site has no proxy_read_timeout 1s:\n%s", site)
	}
	if err := os.WriteFile(l.Site, []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx,
		ErrorLogs: []string{l.ErrorLog}, AccessLogs: []string{l.AccessLog}, Timeout: checks.DefaultTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Snapshot.Replays) == 0 {
		t.Fatal("nothing was asked through nginx")
	}
	for _, r := range o.Snapshot.Replays {
		t.Logf("asked %s → %s (cut %v)", r.Text(), r.Answer(), r.Cut)
		if !r.OK() || r.Status != 200 {
			t.Errorf("%s: %s, want nginx's 200", r.Text(), r.Answer())
		}
	}
	if o.Verdict.Status != "ok" || len(o.Causes) > 0 || !o.Complete {
		t.Errorf("verdict %s (%s), causes %+v, complete %v: want a healthy, complete run", o.Verdict.Status, o.Verdict.Summary, o.Causes, o.Complete)
	}
}

// A backend that never answers, behind nginx's default 60s timeouts: the
// request through nginx is not answered before ngxdoctor stops waiting, so
// the run says it is incomplete for that request and never reports a 502
// nginx has not given.
func TestHungRequestMakesTheRunIncomplete(t *testing.T) {
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			go func() { <-release; c.Close() }() // reads nothing, answers nothing
		}
	}()
	s, _ := lab.Find("upstream-timeout")
	l, err := lab.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	site, _ := os.ReadFile(l.Site)
	moved := strings.Replace(string(site), l.Listeners[0], hung.Addr().String(), 1)
	moved = strings.Replace(moved, "proxy_read_timeout 1s;", "", 1)
	if err := os.WriteFile(l.Site, []byte(moved), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx,
		ErrorLogs: []string{l.ErrorLog}, AccessLogs: []string{l.AccessLog}, Timeout: checks.DefaultTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, r := range o.Snapshot.Replays {
		t.Logf("asked %s → %s (cut %v)", r.Text(), r.Answer(), r.Cut)
		if r.Cut {
			cut++
		}
		if r.Failed() {
			t.Errorf("%s counts as failed (%s): nginx gave no answer at all", r.Text(), r.Answer())
		}
	}
	if cut == 0 {
		t.Fatal("no request through nginx was cut by the deadline")
	}
	if o.Complete || !strings.Contains(strings.Join(o.Unfinished, "; "), "GET / on lab.test through nginx: no answer within") {
		t.Errorf("complete %v, unfinished %q: want the hung request named", o.Complete, o.Unfinished)
	}
	if o.Verdict.Status == "ok" || strings.Contains(o.Verdict.Summary, "502") || strings.Contains(o.Verdict.Summary, "no valid answer") {
		t.Errorf("verdict %s: %s", o.Verdict.Status, o.Verdict.Summary)
	}
	t.Logf("verdict %s: %s", o.Verdict.Status, o.Verdict.Summary)
}
