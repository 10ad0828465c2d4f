package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestFixRefusesAFileEditedSinceTheCheck: the fix ID a check printed is
// bound to the files it read; after a hand edit, fix ID --yes refuses,
// names the file and changes nothing; the ID a new check prints applies,
// turns the 504 into 200, and undo --list and undo show and revert it.
func TestFixRefusesAFileEditedSinceTheCheck(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx with www-data workers: root is needed")
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, _ := lab.Find("upstream-timeout")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 2)
	env := []string{"NGXDOCTOR_STATE_DIR=" + t.TempDir()}
	fixID := func() string {
		t.Helper()
		r := runBin(t, bin, env, "check", "-c", l.Config, "--format", "json")
		var rep struct {
			Causes []struct {
				Fixes []struct{ ID string }
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("json: %v\n%s", err, r.stdout)
		}
		for _, c := range rep.Causes {
			for _, f := range c.Fixes {
				if strings.Contains(f.ID, ":timeout@") {
					return f.ID
				}
			}
		}
		t.Fatalf("no bound timeout fix in:\n%s", r.stdout)
		return ""
	}
	id := fixID()
	edited := readFile(t, l.Site) + "# edited by hand after the check\n"
	os.WriteFile(l.Site, []byte(edited), 0o644)
	r := runBin(t, bin, env, "fix", id, "--yes", "-c", l.Config)
	if r.code == 0 || !strings.Contains(r.stderr, l.Site+" changed since the check") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("fix after a hand edit: exit %d\nstdout: %s\nstderr: %s\nwant a refusal naming %s", r.code, r.stdout, r.stderr, l.Site)
	}
	if readFile(t, l.Site) != edited {
		t.Fatal("the refused fix changed the file")
	}
	if st, _ := l.Get(ctx, l.Path); st != 504 {
		t.Fatalf("after the refusal nginx answers %d, want 504 still", st)
	}

	id = fixID()
	if r := runBin(t, bin, env, "fix", id, "--yes", "-c", l.Config); r.code != 0 || !strings.Contains(r.stdout, "Applied and verified") {
		t.Fatalf("fix with the new ID: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if st, _ := l.Get(ctx, l.Path); st != 200 {
		t.Fatalf("after the fix nginx answers %d, want 200", st)
	}
	r = runBin(t, bin, env, "undo", "--list")
	if r.code != 0 || !strings.Contains(r.stdout, strings.TrimSuffix(id, id[strings.LastIndexByte(id, '@'):])) || !strings.Contains(r.stdout, "applied, verified") {
		t.Fatalf("undo --list: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, bin, env, "undo")
	if r.code != 0 || !strings.Contains(r.stdout, "Undoing your last fix") {
		t.Fatalf("undo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if readFile(t, l.Site) != edited {
		t.Fatal("undo did not restore the file byte for byte")
	}
	if st, _ := l.Get(ctx, l.Path); st != 504 {
		t.Fatalf("after undo nginx answers %d, want 504", st)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
