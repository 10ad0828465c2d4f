package host

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func content(s string) *RecordedFile { return &RecordedFile{Content: &s} }

const (
	avcNginx = `type=AVC msg=audit(1764000000.123:456): avc:  denied  { name_connect } for  pid=812 comm="nginx" dest=3000 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:ntop_port_t:s0 tclass=tcp_socket permissive=0`
	avcOther = `type=AVC msg=audit(1764000001.123:457): avc:  denied  { read } for  pid=900 comm="sshd" name="shadow" scontext=system_u:system_r:sshd_t:s0 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0`
)

// TestReadSELinux uses canned files and command outputs: this machine has
// no SELinux, so the parsing is tested on what RHEL-like hosts print.
func TestReadSELinux(t *testing.T) {
	cases := []struct {
		name string
		rec  Recording
		want SELinux
	}{
		{
			name: "no SELinux at all",
			rec:  Recording{},
			want: SELinux{Note: "SELinux is not present (no /sys/fs/selinux/enforce, no getenforce)"},
		},
		{
			name: "enforcing, boolean off, a denial from ausearch",
			rec: Recording{
				Files: map[string]*RecordedFile{"/sys/fs/selinux/enforce": content("1")},
				Commands: []RecordedCommand{
					{Argv: []string{"getsebool", "httpd_can_network_connect"}, Stdout: "httpd_can_network_connect --> off\n"},
					{Argv: []string{"ausearch", "-m", "avc", "-ts", "recent"}, Stdout: "----\ntime->Mon Nov 24 05:00:00 2026\n" + avcNginx + "\n" + avcOther + "\n"},
				},
			},
			want: SELinux{Available: true, Mode: "enforcing", Denials: []string{avcNginx}},
		},
		{
			name: "permissive from getenforce, boolean on, no denials",
			rec: Recording{
				Commands: []RecordedCommand{
					{Argv: []string{"getenforce"}, Stdout: "Permissive\n"},
					{Argv: []string{"getsebool", "httpd_can_network_connect"}, Stdout: "httpd_can_network_connect --> on\n"},
					{Argv: []string{"ausearch", "-m", "avc", "-ts", "recent"}, Stderr: "<no matches>\n", ExitCode: 1},
				},
			},
			want: SELinux{Available: true, Mode: "permissive", NetworkConnect: true},
		},
		{
			name: "disabled",
			rec:  Recording{Commands: []RecordedCommand{{Argv: []string{"getenforce"}, Stdout: "Disabled\n"}}},
			want: SELinux{Available: true, Mode: "disabled"},
		},
		{
			name: "no tools: the boolean from sysfs, denials from audit.log",
			rec: Recording{
				Files: map[string]*RecordedFile{
					"/sys/fs/selinux/enforce":                            content("1\n"),
					"/sys/fs/selinux/booleans/httpd_can_network_connect": content("0 0"),
					"/var/log/audit/audit.log":                           content(avcOther + "\n" + avcNginx + "\n"),
				},
			},
			want: SELinux{Available: true, Mode: "enforcing", Denials: []string{avcNginx},
				Note: "ausearch is not installed; read the end of audit.log"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ReadSELinux(context.Background(), Replay(&tc.rec))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestReadSELinuxLive(t *testing.T) {
	// Whatever this host has, reading it must not fail or hang.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	se := ReadSELinux(ctx, Live())
	if !se.Available && se.Note == "" {
		t.Errorf("SELinux unavailable without a note saying why")
	}
}

func TestUnitFromCgroup(t *testing.T) {
	cases := map[string]string{
		"/system.slice/php8.2-fpm.service":                        "php8.2-fpm.service",
		"/system.slice/docker-abc.scope/system.slice/app.service": "app.service",
		"/user.slice/user-0.slice/session-3.scope":                "",
		"/": "",
		"":  "",
	}
	for in, want := range cases {
		if got := UnitFromCgroup(in); got != want {
			t.Errorf("UnitFromCgroup(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestParseCgroup(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0::/system.slice/php8.2-fpm.service\n", "/system.slice/php8.2-fpm.service"},
		{"12:memory:/system.slice/x.service\n1:name=systemd:/system.slice/php-fpm.service\n", "/system.slice/php-fpm.service"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := parseCgroup(tc.in); got != tc.want {
			t.Errorf("parseCgroup(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

const showFPM = `ActiveState=active
SubState=running
NRestarts=3
Result=success
MainPID=812
FragmentPath=/lib/systemd/system/php8.2-fpm.service
ActiveEnterTimestamp=Mon 2026-11-23 22:10:04 UTC
LoadState=loaded
`

// TestReadUnit uses canned systemctl/journalctl/dmesg outputs: systemd is
// not running on this machine, so the parsing is tested on what it prints.
func TestReadUnit(t *testing.T) {
	show := []string{"systemctl", "show", "php8.2-fpm.service", "-p", "ActiveState,SubState,NRestarts,Result,MainPID,FragmentPath,ActiveEnterTimestamp,LoadState", "--no-pager"}
	journal := []string{"journalctl", "-u", "php8.2-fpm.service", "-n", "20", "--no-pager", "-o", "short-iso"}
	oom := []string{"journalctl", "-k", "-g", "Out of memory|oom-kill", "-n", "20", "--no-pager"}
	procs := []Process{
		{PID: 812, Name: "php-fpm8.2", Cgroup: "/system.slice/php8.2-fpm.service"},
		{PID: 900, Name: "bash", Cgroup: "/user.slice/user-0.slice/session-1.scope"},
	}
	journalOut := "-- Logs begin at Mon 2026-11-23 00:00:00 UTC. --\n" +
		"2026-11-24T05:01:02+0000 web php-fpm8.2[812]: [WARNING] [pool www] server reached pm.max_children setting (5), consider raising it\n"
	oomKill := "Nov 24 05:02:03 web kernel: Out of memory: Killed process 1234 (php-fpm8.2) total-vm:512000kB, anon-rss:400000kB"
	oomOther := "Nov 24 04:00:00 web kernel: Out of memory: Killed process 77 (java) total-vm:9000000kB"
	oomMemcg := "Nov 24 05:02:03 web kernel: oom-kill:constraint=CONSTRAINT_NONE,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=1234,uid=33"

	full := &Recording{Processes: procs, Commands: []RecordedCommand{
		{Argv: show, Stdout: showFPM},
		{Argv: journal, Stdout: journalOut},
		{Argv: oom, Stdout: oomOther + "\n" + oomKill + "\n" + oomMemcg + "\n"},
	}}
	want := Unit{
		Name: "php8.2-fpm.service", Active: "active", Sub: "running", Restarts: 3, Result: "success",
		Since: time.Date(2026, 11, 23, 22, 10, 4, 0, time.UTC), MainPID: 812,
		FragmentPath: "/lib/systemd/system/php8.2-fpm.service",
		Journal:      []string{strings.TrimSuffix(strings.SplitN(journalOut, "\n", 2)[1], "\n")},
		OOMKills:     []string{oomKill, oomMemcg},
	}

	t.Run("by pid", func(t *testing.T) {
		got, ok := ReadUnit(context.Background(), Replay(full), 812)
		if !ok || !reflect.DeepEqual(got, want) || !got.Since.Equal(want.Since) {
			t.Errorf("got %v %+v\nwant %+v", ok, got, want)
		}
		if s := got.String(); s != "php8.2-fpm.service: active (running), restarted 3 times" {
			t.Errorf("summary: got %q", s)
		}
	})
	t.Run("by name, OOM from dmesg", func(t *testing.T) {
		rec := &Recording{Location: "UTC", Processes: procs, Commands: []RecordedCommand{
			{Argv: show, Stdout: showFPM},
			{Argv: journal, Stdout: journalOut},
			{Argv: oom, Stderr: "No journal files were found.\n", ExitCode: 1},
			{Argv: []string{"dmesg"}, Stdout: "[ 1.0] Booting\n[ 99.1] Out of memory: Killed process 1234 (php-fpm8.2) total-vm:512000kB\n"},
		}}
		got, ok := UnitByName(context.Background(), Replay(rec), "php8.2-fpm")
		if !ok || got.Name != "php8.2-fpm.service" || len(got.OOMKills) != 1 || !strings.Contains(got.OOMKills[0], "(php-fpm8.2)") {
			t.Errorf("got %v %+v, want the unit with one OOM kill from dmesg", ok, got)
		}
	})
	t.Run("a process outside any service", func(t *testing.T) {
		if got, ok := ReadUnit(context.Background(), Replay(full), 900); ok {
			t.Errorf("got %+v, want no unit", got)
		}
	})
	t.Run("systemd not running", func(t *testing.T) {
		rec := &Recording{Processes: procs, Commands: []RecordedCommand{{Argv: show, ExitCode: 1,
			Stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\n"}}}
		if got, ok := ReadUnit(context.Background(), Replay(rec), 812); ok {
			t.Errorf("got %+v, want no unit", got)
		}
	})
	t.Run("no such unit", func(t *testing.T) {
		rec := &Recording{Commands: []RecordedCommand{{
			Argv:   []string{"systemctl", "show", "nope.service", "-p", "ActiveState,SubState,NRestarts,Result,MainPID,FragmentPath,ActiveEnterTimestamp,LoadState", "--no-pager"},
			Stdout: "ActiveState=inactive\nSubState=dead\nLoadState=not-found\n"}}}
		if got, ok := UnitByName(context.Background(), Replay(rec), "nope"); ok {
			t.Errorf("got %+v, want no unit", got)
		}
	})
}
