package checks_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ngxdoctor "github.com/ngxdoctor/ngxdoctor"
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// manualOf is every command by hand of step n, with the programs missing.
func manualOf(o *checks.Outcome, n int) (cmds, missing []string) {
	for _, st := range o.Steps {
		if st.Number != n {
			continue
		}
		for _, c := range st.Checks {
			cmds = append(cmds, c.Manual...)
			missing = append(missing, c.NotInstalled...)
		}
	}
	return cmds, missing
}

// TestCommandsByHandAreThisMachines: a real nginx with its config and its
// error log in a temp dir. The commands a person is told to type name that
// config (-c) and that log, never the packaged defaults, and a program
// this host lacks is named as such: the same strings the wizard, the
// Markdown report and the JSON show.
func TestCommandsByHandAreThisMachines(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx workers as www-data: root is needed")
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	sc, _ := lab.Find("backend-down")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 2)
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for n := 1; n <= 10; n++ {
		cmds, missing := manualOf(o, n)
		all = append(all, cmds...)
		for _, c := range cmds {
			if strings.Contains(c, "nginx -t") || strings.Contains(c, "nginx -T") {
				if !strings.Contains(c, " -c "+l.Config) {
					t.Errorf("step %d: %q does not name the config diagnosed (-c %s)", n, c, l.Config)
				}
			}
			if strings.Contains(c, "/var/log/nginx/error.log") {
				t.Errorf("step %d: %q names the packaged error log, not %s", n, c, l.ErrorLog)
			}
		}
		// Marked missing exactly when this host has no such program: the
		// programs each command runs are written out here, not worked out
		// by ProgramsOf, which is what is under test.
		var want []string
		for _, c := range cmds {
			progs, ok := programsRun(c)
			if !ok {
				t.Errorf("step %d: %q is not in programsRun: add the programs it runs", n, c)
				continue
			}
			if got := checks.ProgramsOf(c); !slices.Equal(got, progs) {
				t.Errorf("step %d: %q runs %q, ProgramsOf says %q", n, c, progs, got)
			}
			want = append(want, progs...)
			for _, p := range progs {
				_, err := host.Live().LookPath(p)
				if got := slices.Contains(missing, p); got != (err != nil) {
					t.Errorf("step %d: %s marked not installed: %v, but LookPath says %v", n, p, got, err)
				}
			}
		}
		for _, p := range missing {
			if strings.ContainsAny(p, ")('\"` |=") || !slices.Contains(want, p) {
				t.Errorf("step %d: %q is marked not installed, but no command of the step runs a program of that name", n, p)
			}
		}
	}
	cmds, _ := manualOf(o, 8)
	if !slices.Contains(cmds, "tail -n 100 "+l.ErrorLog) || !slices.Contains(cmds, "grep -c upstream "+l.ErrorLog) {
		t.Errorf("step 8 should read this nginx's error log %s: %q", l.ErrorLog, cmds)
	}
	// A program this machine lacks is in the list, and so marked.
	if _, err := exec.LookPath("firewall-cmd"); err != nil {
		if _, missing := manualOf(o, 3); !slices.Contains(missing, "firewall-cmd") {
			t.Errorf("firewall-cmd is not installed here, but step 3 does not say so: %q", missing)
		}
	}
	if len(all) == 0 {
		t.Fatal("no command by hand at all")
	}
}

// commandPrograms are the programs each command by hand runs, by the
// command's shape, first match wins.
var commandPrograms = []struct {
	re    *regexp.Regexp
	progs []string
}{
	{regexp.MustCompile(`^ss -(tlnp|xlp|ltn)\b`), []string{"ss"}},
	{regexp.MustCompile(`^curl .* \| wc -c$`), []string{"curl", "wc"}},
	{regexp.MustCompile(`^curl `), []string{"curl"}},
	{regexp.MustCompile(`^nginx -t -c \S+$`), []string{"nginx"}},
	{regexp.MustCompile(`^nginx -T -c \S+ \| less$`), []string{"nginx", "less"}},
	{regexp.MustCompile(`^nginx -T -c \S+ 2>/dev/null \| grep `), []string{"nginx", "grep"}},
	{regexp.MustCompile(`^iptables -S$`), []string{"iptables"}},
	{regexp.MustCompile(`^nft list ruleset$`), []string{"nft"}},
	{regexp.MustCompile(`^ufw status$`), []string{"ufw"}},
	{regexp.MustCompile(`^firewall-cmd --list-all$`), []string{"firewall-cmd"}},
	{regexp.MustCompile(`^getenforce$`), []string{"getenforce"}},
	{regexp.MustCompile(`^getsebool \w+$`), []string{"getsebool"}},
	{regexp.MustCompile(`^ausearch -m avc `), []string{"ausearch"}},
	{regexp.MustCompile(`^cat /etc/resolv.conf$`), []string{"cat"}},
	{regexp.MustCompile(`^journalctl -k `), []string{"journalctl"}},
	{regexp.MustCompile(`^tail -n \d+ \S+$`), []string{"tail"}},
	{regexp.MustCompile(`^grep -c upstream \S+$`), []string{"grep"}},
	{regexp.MustCompile(`^awk '[^']*' \S+ \| tail$`), []string{"awk", "tail"}},
	{regexp.MustCompile(`^systemctl list-timers \| grep ngxdoctor$`), []string{"systemctl", "grep"}},
}

func programsRun(cmd string) ([]string, bool) {
	for _, c := range commandPrograms {
		if c.re.MatchString(cmd) {
			return c.progs, true
		}
	}
	return nil, false
}

// stub_status is asked where this config serves it: the demo's config
// with a stub_status location added.
func TestStubStatusCommand(t *testing.T) {
	var r host.Recording
	if err := json.Unmarshal(ngxdoctor.DemoRecording, &r); err != nil {
		t.Fatal(err)
	}
	site := r.Files["/etc/nginx/sites-enabled/shop.conf"]
	c := strings.Replace(*site.Content, "    location / {", "    location = /basic_status {\n        stub_status;\n        allow 127.0.0.1;\n        deny all;\n    }\n\n    location / {", 1)
	site.Content = &c
	st := *site.Stat
	st.Size = int64(len(c))
	site.Stat = &st
	o, err := checks.Run(context.Background(), host.Replay(&r), checks.Options{Since: checks.DefaultWindow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmds, _ := manualOf(o, 10)
	if !slices.Contains(cmds, "curl -s http://127.0.0.1:80/basic_status") {
		t.Fatalf("step 10's commands: got %q, want curl -s http://127.0.0.1:80/basic_status", cmds)
	}
	// Without stub_status there is nothing to curl: the advice says to add it.
	var plain host.Recording
	if err := json.Unmarshal(ngxdoctor.DemoRecording, &plain); err != nil {
		t.Fatal(err)
	}
	o, err = checks.Run(context.Background(), host.Replay(&plain), checks.Options{Since: checks.DefaultWindow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmds, _ := manualOf(o, 10); slices.ContainsFunc(cmds, func(c string) bool { return strings.HasPrefix(c, "curl") }) {
		t.Errorf("no stub_status in the config, yet step 10 says to curl one: %q", cmds)
	}
}

// A recorded incident (the demo) knows only the programs it looked up:
// the others are unknown there, and must not be marked "not installed".
func TestReplayMarksOnlyWhatItFoundMissing(t *testing.T) {
	var r host.Recording
	if err := json.Unmarshal(ngxdoctor.DemoRecording, &r); err != nil {
		t.Fatal(err)
	}
	if r.Paths == nil {
		r.Paths = map[string]string{}
	}
	r.Paths["ufw"] = ""
	r.Paths["iptables"] = "/usr/sbin/iptables"
	delete(r.Paths, "firewall-cmd")
	o, err := checks.Run(context.Background(), host.Replay(&r), checks.Options{Since: checks.DefaultWindow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, missing := manualOf(o, 3)
	if !slices.Contains(missing, "ufw") {
		t.Errorf("ufw is recorded as missing, but not marked: %q", missing)
	}
	if slices.Contains(missing, "iptables") || slices.Contains(missing, "firewall-cmd") {
		t.Errorf("only ufw is known missing; got %q", missing)
	}
}

func TestProgramsOf(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{"nginx -T -c /etc/nginx/nginx.conf 2>/dev/null | grep -n resolver", []string{"nginx", "grep"}},
		{"sudo -u www-data test -w /run/php.sock && echo ok", []string{"test", "echo"}},
		{"ss -ltn   # Recv-Q", []string{"ss"}},
		{"LANG=C /usr/sbin/nginx -t", []string{"/usr/sbin/nginx"}},
	} {
		if got := checks.ProgramsOf(c.cmd); !slices.Equal(got, c.want) {
			t.Errorf("ProgramsOf(%q): got %q, want %q", c.cmd, got, c.want)
		}
	}
}
