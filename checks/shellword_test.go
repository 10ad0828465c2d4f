package checks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

func TestProgramsOf(t *testing.T) {
	for _, tt := range []struct {
		cmd  string
		want []string
	}{
		{`nginx -T -c /etc/nginx/nginx.conf 2>/dev/null | grep -nE '(proxy|fastcgi|uwsgi|scgi|grpc)_pass|upstream|server '`, []string{"nginx", "grep"}},
		{`sudo -u www-data test -w /run/php.sock && echo ok`, []string{"test", "echo"}},
		{`ss -ltn   # Recv-Q = waiting connections, Send-Q = backlog`, []string{"ss"}},
		{`LC_ALL=C awk '$9 ~ /^50[234]$/' /var/log/nginx/access.log | tail`, []string{"awk", "tail"}},
		{`journalctl -k -g "Out of memory|oom" ; dmesg || true`, []string{"journalctl", "dmesg", "true"}},
	} {
		if got := ProgramsOf(tt.cmd); !slices.Equal(got, tt.want) {
			t.Errorf("ProgramsOf(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

// A client can send any path and Host; nginx logs them, ngxdoctor asks
// them again and shows a curl line to paste. Read by a real sh (with
// printf in curl's place), that line must pass curl the path and Host
// exactly as sent and run nothing else.
func TestPastedCommandsRunNothingElse(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "PWNED")
	evil := []string{"/app/x'$(touch${IFS}" + pwned + ")'.php", "/a;touch${IFS}" + pwned, "/`touch " + pwned + "`", `/"$(touch ` + pwned + `)"`, `/x\'y`}
	for _, path := range evil {
		s := &Snapshot{Config: &nginx.Config{Servers: []nginx.Server{{}}}}
		s.Install.Running = true
		host := "shop.test';touch " + pwned + ";'"
		s.Replays = []Replay{{Method: "GET", Path: path, Host: host, Addr: "127.0.0.1:80", Status: 502}}
		r := checkThroughNginx(context.Background(), s)
		var curl string
		for _, m := range r.Manual {
			if strings.HasPrefix(m, "curl ") {
				curl = m
			}
		}
		out, err := exec.Command("sh", "-c", "printf '%s\\n' "+strings.TrimPrefix(curl, "curl ")).Output()
		if err != nil {
			t.Fatalf("sh on %q: %v", curl, err)
		}
		want := "-sv\n-H\nHost: " + host + "\nhttp://127.0.0.1:80" + path + "\n"
		if string(out) != want {
			t.Errorf("%q passes curl\n%s\nwant\n%s", curl, out, want)
		}
		if _, err := os.Stat(pwned); err == nil {
			t.Fatalf("pasting %q ran a command", curl)
		}
	}
	for _, p := range []string{"/var/log/nginx/error.log", "/srv/my site/error.log", "/x/$(id)"} {
		if got := shellCommands("tail " + shellWord(p)); len(got) != 1 || got[0][1] != p {
			t.Errorf("shellWord(%q) = %q reads as %q", p, shellWord(p), got)
		}
	}
}

func FuzzShellWord(f *testing.F) {
	for _, s := range []string{"/var/log/x.log", "a'b", `$(id)`, "\\", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\x00\n") {
			return
		}
		got := shellCommands("tail " + shellWord(s))
		if len(got) != 1 || len(got[0]) != 2 || got[0][1] != s {
			t.Fatalf("shellWord(%q) = %q reads as %q", s, shellWord(s), got)
		}
	})
}
