package tui

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// The commands a trainee pastes carry this machine's facts (checks
// builds them), are never wrapped, and say when their program is not
// installed here: a recording that knows ufw and firewall-cmd are missing.
func TestCommandsForThisMachine(t *testing.T) {
	b, _ := json.Marshal(demoRecording())
	var r host.Recording
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Paths == nil {
		r.Paths = map[string]string{}
	}
	r.Paths["ufw"], r.Paths["firewall-cmd"], r.Paths["iptables"] = "", "", "/usr/sbin/iptables"
	o := runRecorded(host.Replay(&r), checks.Options{})
	cfg := testConfig(o)
	m := ready(t, cfg, o, 80, 24)
	press(m, "l")
	press(m, "g", "n") // step 2: the config
	d := ansi.Strip(m.detail.GetContent())
	mustContain(t, d, "$ nginx -T -c /etc/nginx/nginx.conf 2>/dev/null | grep", "look for: ")
	mustNotContain(t, d, "nginx -T 2>/dev/null")
	press(m, "n") // step 3: the network
	d = ansi.Strip(m.detail.GetContent())
	mustContain(t, d, "$ ufw status  (ufw is not installed here)", "$ iptables -S")
	mustNotContain(t, d, "iptables is not installed")
	// A command is one line: the next line is never its continuation.
	lines := strings.Split(d, "\n")
	for i, l := range lines {
		if strings.Contains(l, "$ ") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      ") && !strings.Contains(lines[i+1], "look for") {
			t.Errorf("a command wraps onto the next line:\n%s\n%s", l, lines[i+1])
		}
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %q is %d wide", l, w)
		}
	}
	// c copies the marked command whole, through the terminal (OSC 52).
	cmd := press(m, "c")
	msg := find[clipboardMsg](t, cmd)
	if msg.text == "" || strings.HasPrefix(msg.text, "$") {
		t.Fatalf("c copied %q, want a command", msg.text)
	}
	_, set := m.Update(msg)
	if set == nil {
		t.Fatal("the copy set no clipboard")
	}
	mustContain(t, screen(m), "copied: "+msg.text)
}

// The demo's y plays the recorded fix: apply, verify, then the checks run
// again on the recording after it; nothing on this machine is touched.
func TestDemoPlaysTheRecordedFix(t *testing.T) {
	after, apply := DemoPlayer(demoRecording())
	cfg := testConfig(nil)
	cfg.Run = nil // the real engine, on the replayed recordings
	cfg.Sys, cfg.Demo, cfg.DemoAfter = host.Replay(demoRecording()), true, after
	// Its progress lines are shown live elsewhere (TestApplyShowsProgressLive); here the result.
	cfg.Apply = func(ctx context.Context, o *checks.Outcome, f fixes.Fix, opts fixes.Options) (fixes.Applied, error) {
		opts.Progress = nil
		return apply(ctx, o, f, opts)
	}
	cfg.Options = checks.Options{Since: checks.DefaultWindow, Timeout: checks.DefaultTimeout}
	m := ready(t, cfg, socketOutcome(), 80, 24)
	press(m, "f")
	mustContain(t, screen(m), "y play the recorded fix")
	_, rerun := m.Update(find[appliedMsg](t, press(m, "y")))
	s := screen(m)
	mustContain(t, strings.Split(s, "\n")[0], "✓ applied and verified")
	mustContain(t, s, "GET http://127.0.0.1:80/index.php through nginx answers 200")
	finishRun(t, m, rerun)
	s = screen(m)
	mustContain(t, s, "checks ran again after the fix: No cause found")
	press(m, "esc")
	mustContain(t, strings.Split(screen(m), "\n")[0], "✓ No cause found")
}
