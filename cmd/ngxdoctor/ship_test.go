package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// buildWith builds the real binary with extra go build flags. -buildvcs=auto
// overrides a GOFLAGS=-buildvcs=false, so the build info has the commit
// wherever the go command can tell it.
func buildWith(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ngxdoctor")
	cmd := exec.Command("go", append(append([]string{"build", "-buildvcs=auto", "-o", bin}, args...), ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestVersionFromBuildInfo: `version` and `--version` say what the go
// command stamped into this very binary (go version -m), and a release
// build's -ldflags version comes first.
func TestVersionFromBuildInfo(t *testing.T) {
	bin := buildWith(t)
	m, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(key string) string {
		re := regexp.MustCompile(`(?m)^\s+build\s+` + regexp.QuoteMeta(key) + `=(\S+)$`)
		if s := re.FindSubmatch(m); s != nil {
			return string(s[1])
		}
		return ""
	}
	modVersion := regexp.MustCompile(`(?m)^\s+mod\s+github.com/ngxdoctor/ngxdoctor\s+(\S+)`).FindSubmatch(m)
	if modVersion == nil {
		t.Fatalf("go version -m has no main module line:\n%s", m)
	}
	out := runBin(t, bin, nil, "version")
	if out.code != 0 {
		t.Fatalf("version: exit %d %s", out.code, out.stderr)
	}
	if first := strings.SplitN(out.stdout, "\n", 2)[0]; first != "ngxdoctor "+string(modVersion[1]) {
		t.Errorf("first line %q, want the module version %s", first, modVersion[1])
	}
	rev := stamp("vcs.revision")
	// In a git clone (CI's) the go command stamps the commit; in a git
	// worktree it does not, and the binary must say it does not know.
	if fi, err := os.Stat("../../.git"); err == nil && fi.IsDir() {
		if _, err := exec.LookPath("git"); err == nil {
			head, err := exec.Command("git", "rev-parse", "HEAD").Output()
			if err == nil && rev != strings.TrimSpace(string(head)) {
				t.Errorf("the build info has commit %q, git says %s", rev, head)
			}
		}
	}
	switch {
	case rev != "":
		if !strings.Contains(out.stdout, "commit   "+rev) || !strings.Contains(out.stdout, "time     "+stamp("vcs.time")) {
			t.Errorf("version does not show commit %s and time %s:\n%s", rev, stamp("vcs.time"), out.stdout)
		}
	default:
		if !strings.Contains(out.stdout, "commit   unknown") {
			t.Errorf("no commit in the build info, but version says:\n%s", out.stdout)
		}
	}
	if v := runBin(t, bin, nil, "--version"); v.stdout != out.stdout {
		t.Errorf("--version says\n%s\nversion says\n%s", v.stdout, out.stdout)
	}

	rel := buildWith(t, "-ldflags", "-X main.version=9.8.7 -X main.commit=0123456789abcdef -X main.commitTime=2026-11-24T06:47:38Z")
	out = runBin(t, rel, nil, "version")
	if !strings.HasPrefix(out.stdout, "ngxdoctor 9.8.7\n") || !strings.Contains(out.stdout, "module   github.com/ngxdoctor/ngxdoctor") {
		t.Errorf("release build's version:\n%s", out.stdout)
	}
	if rev == "" && !strings.Contains(out.stdout, "commit   0123456789abcdef") {
		t.Errorf("without a VCS stamp the -X commit is shown; got:\n%s", out.stdout)
	}
	if rev != "" && !strings.Contains(out.stdout, "commit   "+rev) {
		t.Errorf("the build info's commit wins over -X; got:\n%s", out.stdout)
	}
}

// TestManPage renders the generated page with man(1), as a sysadmin reads
// it: -c is -c, hidden flags and commands are absent, every command and
// flag a user may type is there, and it has an EXIT STATUS.
func TestManPage(t *testing.T) {
	_, errMan := exec.LookPath("man")
	labtest.Need(t, errMan == nil, "man is not installed (scripts/test.sh installs man-db)")
	root := newRoot()
	page := manPage(root, buildInfo{Version: "1.2.3", Time: "2026-11-24T06:47:38Z"})
	src := filepath.Join(t.TempDir(), "ngxdoctor.1")
	if err := os.WriteFile(src, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "--warnings", "-l", src)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("man/groff warnings:\n%s", stderr.String())
	}
	// Strip overstrike bold/underline, as col -b would.
	text := regexp.MustCompile(".\x08").ReplaceAllString(string(out), "")
	// man hyphenates at the right margin; the words checked below are
	// searched for in the text with those joins undone.
	flat := strings.Join(strings.Fields(regexp.MustCompile(`‐\n\s*|-\n\s+`).ReplaceAllString(text, "")), " ")
	for _, want := range []string{
		"-c, --config PATH", "--since DUR|all", "--timeout DUR", "ngxdoctor fix ID [flags]", "ngxdoctor merge FILE... [flags]",
		"EXIT STATUS", "0 No cause found", "1 At least one cause", "2 Could not diagnose",
		"ngxdoctor completion bash|fish|powershell|zsh", "/usr/lib/systemd/system/ngxdoctor-check.timer", "ngxdoctor 1.2.3", "2026-11-24",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
	for _, bad := range []string{`--c\b`, `--replay`, `\brecord\b`, `ngxdoctor man\b`, `--out\b`} {
		if regexp.MustCompile(bad).MatchString(flat) {
			t.Errorf("the man page shows %s", bad)
		}
	}
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		if !strings.Contains(flat, "ngxdoctor "+c.Name()) {
			t.Errorf("command %s is not in the synopsis", c.Name())
		}
		for _, f := range flagsOf(c) {
			if !strings.Contains(flat, "--"+f.Name) {
				t.Errorf("flag --%s of %s is not on the page", f.Name, c.Name())
			}
		}
	}
}

// TestMergeCommand: the real binary merges the demo's real report (check
// --replay of the recorded incident), a report whose file is missing, and
// the same report as a JSON line on stdin; exit codes are the worst host's.
func TestMergeCommand(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	r := runBin(t, bin, nil, "check", "--replay", "../../testdata/demo/incident.json", "--format", "json")
	if r.code != 1 {
		t.Fatalf("check of the demo: exit %d, want 1\n%s", r.code, r.stderr)
	}
	demo := filepath.Join(dir, "demo.json")
	if err := os.WriteFile(demo, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Host *struct{ Name string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	name := "demo" // the file's name, for a report without the host object
	if rep.Host != nil && rep.Host.Name != "" {
		name = rep.Host.Name
	}
	m := runBin(t, bin, nil, "merge", demo)
	row := `(?m)^` + regexp.QuoteMeta(name) + `\s+\S+ \S+\s+problem\s+socket-permission\s+unix:/run/php/php8.2-fpm.sock$`
	if m.code != 1 || !regexp.MustCompile(row).MatchString(m.stdout) {
		t.Errorf("merge of one report: exit %d\n%s%s", m.code, m.stdout, m.stderr)
	}
	m = runBin(t, bin, nil, "merge", "--format", "json", demo, filepath.Join(dir, "web7.json"))
	var f struct {
		Hosts []struct {
			Name, Status, Summary string
		}
		ExitCode int `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(m.stdout), &f); err != nil {
		t.Fatalf("merge --format json: %v\n%s", err, m.stdout)
	}
	if m.code != 2 || f.ExitCode != 2 || len(f.Hosts) != 2 || f.Hosts[0].Name != "web7" || f.Hosts[0].Status != "not-checked" {
		t.Errorf("missing report: exit %d, %+v", m.code, f)
	}

	var line bytes.Buffer
	if err := json.Compact(&line, []byte(r.stdout)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "merge", "--format", "markdown", "-")
	cmd.Stdin = strings.NewReader(line.String() + "\n" + line.String() + "\n")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Count(string(out), "`socket-permission`") != 3 {
		t.Errorf("merge - (two JSON lines): %v\n%s", err, out)
	}

	for _, args := range [][]string{{"merge"}, {"merge", "--format", "yaml", demo}, {"merge", "-", "-"}} {
		if r := runBin(t, bin, nil, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d stderr %q, want 2 and a message", args, r.code, r.stderr)
		}
	}
}
