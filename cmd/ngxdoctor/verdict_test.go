package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

type jsonReport struct {
	Verdict struct{ Status, Summary string }
	Causes  []struct {
		ID       string   `json:"id"`
		Requests []string `json:"requests"`
		Fixes    []struct {
			ID       string     `json:"id"`
			Commands [][]string `json:"commands"`
		} `json:"fixes"`
	}
}

func checkJSON(t *testing.T, bin string, args ...string) (jsonReport, run) {
	t.Helper()
	r := runBin(t, bin, nil, append([]string{"check", "--format", "json"}, args...)...)
	var rep jsonReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return rep, r
}

// The file was fixed but nginx not reloaded (real nginx on loopback):
// check names config-not-loaded with the reload as its fix, the fix turns
// the 502 into a 200, and the next check finds nothing (no reload offered
// right after a reload).
func TestConfigNotLoadedReloadFix(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx with www-data workers: root is needed")
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sc, _ := lab.Find("config-not-loaded")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 3)

	rep, r := checkJSON(t, bin, "-c", l.Config)
	if r.code != 1 || rep.Verdict.Status != "problem" || len(rep.Causes) == 0 || rep.Causes[0].ID != "config-not-loaded" {
		t.Fatalf("exit %d, verdict %+v, causes %+v, want config-not-loaded first\n%s", r.code, rep.Verdict, rep.Causes, r.stderr)
	}
	c := rep.Causes[0]
	if len(c.Requests) == 0 || len(c.Fixes) != 1 {
		t.Fatalf("config-not-loaded: requests %q, fixes %+v; want the failing request and one fix (the reload)", c.Requests, c.Fixes)
	}
	fx := runBin(t, bin, nil, "fix", "-c", l.Config, c.Fixes[0].ID, "--yes")
	if fx.code != 0 {
		t.Fatalf("fix: exit %d\n%s\n%s", fx.code, fx.stdout, fx.stderr)
	}
	if st, err := l.Get(ctx, "/"); err != nil || st != http.StatusOK {
		t.Fatalf("after the reload GET / through nginx: %d %v, want 200", st, err)
	}
	after, r := checkJSON(t, bin, "-c", l.Config)
	if r.code != 0 || after.Verdict.Status != "ok" {
		t.Fatalf("after the reload: exit %d, %+v, causes %+v", r.code, after.Verdict, after.Causes)
	}
}

// A failing request through nginx is never "ok": the backend's own 502
// is backend-error (exit 1), and a backend that drops one endpoint is named
// by the request that fails.
func TestVerdictFollowsTheRequest(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx with www-data workers: root is needed")
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, tc := range []struct{ scenario, cause, request string }{
		{"backend-error", "backend-error", "GET / on lab.test → 502"},
		{"one-endpoint", "upstream-closed", "GET /export on lab.test → 502"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			sc, _ := lab.Find(tc.scenario)
			l, err := lab.Start(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			l.Trigger(ctx, 3)
			rep, r := checkJSON(t, bin, "-c", l.Config)
			if r.code != 1 || len(rep.Causes) == 0 || rep.Causes[0].ID != tc.cause {
				t.Fatalf("exit %d, causes %+v, want %s first", r.code, rep.Causes, tc.cause)
			}
			found := false
			for _, q := range rep.Causes[0].Requests {
				found = found || q == tc.request
			}
			if !found {
				t.Errorf("%s explains %q, want %q among them", tc.cause, rep.Causes[0].Requests, tc.request)
			}
			off, _ := checkJSON(t, bin, "-c", l.Config, "--no-replay")
			for _, c := range off.Causes {
				if len(c.Requests) > 0 {
					t.Errorf("--no-replay: %s still explains requests %q", c.ID, c.Requests)
				}
			}
		})
	}
}
