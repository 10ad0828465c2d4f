package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

// TestStep5OOMKilledBackend: a backend whose unit systemd says was
// OOM-killed and restarted, whose process started after nginx's errors
// about it, on a host short of memory. systemd does not run on this
// machine, so its answers are a recording (systemctl show, journalctl)
// replayed through the System seam; the process table and memory figures
// are in the recording's gopsutil shape.
func TestStep5OOMKilledBackend(t *testing.T) {
	ctx := context.Background()
	restart := now.Add(-3 * time.Minute)
	show := []string{"systemctl", "show", "app.service", "-p", "ActiveState,SubState,NRestarts,Result,MainPID,FragmentPath,ActiveEnterTimestamp,LoadState", "--no-pager"}
	oomLine := "Nov 24 05:11:58 web kernel: Out of memory: Killed process 1187 (node) total-vm:2843212kB, anon-rss:1900000kB"
	rec := &host.Recording{Now: now, Location: "UTC",
		Processes: []host.Process{{PID: 1301, PPID: 1, Name: "node", User: "app", Cgroup: "/system.slice/app.service", Started: restart, RSS: 310 << 20}},
		Resources: &host.Resources{MemTotal: 2 << 30, MemAvailable: 120 << 20, SwapTotal: 1 << 30, SwapUsed: 900 << 20, Load1: 3.5, CPUs: 2},
		Commands: []host.RecordedCommand{
			{Argv: show, Stdout: "ActiveState=active\nSubState=running\nNRestarts=1\nResult=oom-kill\nMainPID=1301\nLoadState=loaded\n"},
			{Argv: []string{"journalctl", "-u", "app.service", "-n", "20", "--no-pager", "-o", "short-iso"}, Stdout: "2026-11-24T05:11:58+0000 web systemd[1]: app.service: A process of this unit has been killed by the OOM killer.\n"},
			{Argv: []string{"journalctl", "-k", "-g", "Out of memory|oom-kill", "-n", "20", "--no-pager"}, Stdout: oomLine + "\n"},
		}}
	sys := host.Replay(rec)
	s := snap(tcp3000)
	s.Sys = sys
	s.Processes, _ = sys.Processes(ctx)
	s.Resources, s.ResourcesErr = sys.Resources(ctx)
	s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, PID: 1301, Process: "node"}}
	u, ok := host.ReadUnit(ctx, sys, 1301)
	if !ok {
		t.Fatal("the recorded unit was not read")
	}
	s.Units[tcp3000.Address] = u
	s.ErrorLogs = lines(entry(logs.Refused, tcp3000.Address, now.Add(-6*time.Minute)), entry(logs.Refused, tcp3000.Address, now.Add(-4*time.Minute)))

	r := checkService(ctx, s)
	ev := strings.Join(r.Evidence, "\n")
	if r.Status != Warn {
		t.Errorf("status %s, want warn: %s", r.Status, r.Summary)
	}
	for _, want := range []string{"OOM-killed", "1 backend process started during the incident", "the host is short of memory (only 120 MiB of 2.0 GiB memory available, 900 MiB of 1.0 GiB swap in use)"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
	for _, want := range []string{oomLine, "127.0.0.1:3000: node (pid 1301) running since 05:27:00, 310 MiB resident: it started after 2 error-log lines about it (the first at 05:24:00)",
		"host: memory: 120 MiB of 2.0 GiB available; swap: 900 MiB of 1.0 GiB used; load 3.50"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}

	// The same backend running since before the window, on a host with
	// memory to spare: nothing to say but the facts.
	s.Processes[0].Started = now.Add(-48 * time.Hour)
	s.Resources = host.Resources{MemTotal: 8 << 30, MemAvailable: 6 << 30, Load1: 0.2, CPUs: 2}
	s.Units = map[string]host.Unit{}
	r = checkService(ctx, s)
	if r.Status != Skip || strings.Contains(strings.Join(r.Evidence, "\n"), "incident") || !strings.Contains(strings.Join(r.Evidence, "\n"), "running since") {
		t.Errorf("a calm backend: %s %q\n%s", r.Status, r.Summary, strings.Join(r.Evidence, "\n"))
	}
}
