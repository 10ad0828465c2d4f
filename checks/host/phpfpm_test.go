package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

const fpmMain = `; Debian's layout, trimmed
[global]
pid = /run/php/php8.2-fpm.pid
error_log = /var/log/php8.2-fpm.log ; where the warnings go
include=pool.d/*.conf
`

const fpmPool = `[www]
user = www-data
group = www-data
listen = /run/php/$pool.sock
listen.owner = www-data
listen.group = www-data
listen.mode = "0660"
listen.backlog = 8
pm = dynamic
pm.max_children = 5
; pm.max_children = 50

[api]
listen = 127.0.0.1:9001
pm = static
pm.max_children=2
`

func TestParsePHPFPM(t *testing.T) {
	g, pools := ParsePHPFPM("/etc/php/8.2/fpm/php-fpm.conf", fpmMain)
	if g["error_log"] != "/var/log/php8.2-fpm.log" || g["include"] != "pool.d/*.conf" {
		t.Errorf("globals: got %v", g)
	}
	if len(pools) != 0 {
		t.Errorf("main file: got pools %+v, want none", pools)
	}
	_, pools = ParsePHPFPM("www.conf", fpmPool)
	want := []Pool{
		{Name: "www", File: "www.conf", Line: 1, Listen: "/run/php/www.sock", ListenOwner: "www-data", ListenGroup: "www-data",
			ListenMode: "0660", ListenBacklog: 8, ListenBacklogLine: 8, User: "www-data", Group: "www-data", PM: "dynamic", MaxChildren: 5, MaxChildrenLine: 10},
		{Name: "api", File: "www.conf", Line: 13, Listen: "127.0.0.1:9001", PM: "static", MaxChildren: 2, MaxChildrenLine: 16},
	}
	if fmt.Sprintf("%+v", pools) != fmt.Sprintf("%+v", want) {
		t.Errorf("got\n%+v\nwant\n%+v", pools, want)
	}
	for _, tc := range []struct {
		pool          int
		network, path string
		ip            string
		port          int
		want          bool
	}{
		{0, "unix", "/run/php/www.sock", "", 0, true},
		{0, "unix", "/run/php/other.sock", "", 0, false},
		{1, "tcp", "", "127.0.0.1", 9001, true},
		{1, "tcp", "", "::1", 9001, false},
		{1, "tcp", "", "127.0.0.1", 9000, false},
	} {
		if got := pools[tc.pool].Serves(tc.network, tc.path, tc.ip, tc.port); got != tc.want {
			t.Errorf("pool %s serves %s %s %s:%d: got %v, want %v", pools[tc.pool].Name, tc.network, tc.path, tc.ip, tc.port, got, tc.want)
		}
	}
	if !(Pool{Listen: "9000"}).Serves("tcp", "", "::1", 9000) || !(Pool{Listen: "[::]:9000"}).Serves("tcp", "", "127.0.0.1", 9000) {
		t.Error("a bare port or a wildcard must take any address")
	}
}

func FuzzParsePHPFPM(f *testing.F) {
	f.Add(fpmMain)
	f.Add(fpmPool)
	f.Add("[\n]=\n[x\nlisten=\"\npm.max_children=-1\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, pools := ParsePHPFPM("f.conf", text)
		for _, p := range pools {
			if p.Name == "" || p.Line < 1 || p.MaxChildren < 0 || (p.MaxChildrenLine != 0 && p.MaxChildrenLine < p.Line) {
				t.Fatalf("pool %+v from %q", p, text)
			}
			p.Serves("tcp", "", "127.0.0.1", 9000)
		}
	})
}

// TestReadPHPFPMLive starts a real php-fpm whose pool comes from an
// include, and reads it back through the live System as the diagnosis does.
func TestReadPHPFPMLive(t *testing.T) {
	const bin = "/usr/sbin/php-fpm8.2"
	_, err := os.Stat(bin)
	labtest.Need(t, err == nil, "php-fpm is not installed (scripts/test.sh installs php8.2-fpm)")
	labtest.Need(t, os.Geteuid() == 0, "php-fpm runs its pool as another user only as root")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Mkdir(filepath.Join(dir, "pool.d"), 0o755)
	logPath := filepath.Join(dir, "fpm.log")
	main := fmt.Sprintf("[global]\npid = %[1]s/fpm.pid\nerror_log = %[2]s\ndaemonize = no\ninclude = %[1]s/pool.d/*.conf\n", dir, logPath)
	pool := fmt.Sprintf("[lab]\nuser = nobody\ngroup = nogroup\nlisten = %s/$pool.sock\nlisten.mode = 0666\nlisten.backlog = 3\npm = static\npm.max_children = 1\n", dir)
	os.WriteFile(filepath.Join(dir, "php-fpm.conf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "pool.d", "lab.conf"), []byte(pool), 0o644)
	// A warning as php-fpm writes it, dated now, and one from long ago.
	now := time.Now()
	old := "[01-Jan-2020 00:00:00] WARNING: [pool lab] server reached pm.max_children setting (1), consider raising it\n"
	fresh := fmt.Sprintf("[%s] WARNING: [pool lab] server reached pm.max_children setting (1), consider raising it\n", now.Format("02-Jan-2006 15:04:05"))
	os.WriteFile(logPath, []byte(old+fresh), 0o644)

	cmd := exec.Command(bin, "-F", "-y", filepath.Join(dir, "php-fpm.conf"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT); cmd.Wait() })
	sock := filepath.Join(dir, "lab.sock")
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := context.Background()
	sys := Live()
	procs, err := sys.Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mine []Process
	for _, p := range procs {
		if p.PID == int32(cmd.Process.Pid) {
			mine = append(mine, p)
		}
	}
	fpms := ReadPHPFPM(ctx, sys, mine, now.Add(-15*time.Minute))
	if len(fpms) != 1 {
		t.Fatalf("got %d masters, want the one started (processes %+v); php-fpm said: %s", len(fpms), mine, out.String())
	}
	f := fpms[0]
	if f.Config != filepath.Join(dir, "php-fpm.conf") || f.ErrorLog != logPath || f.Note != "" {
		t.Errorf("master: got %+v", f)
	}
	_, p, ok := PoolFor(fpms, "unix", sock, "", 0)
	if !ok {
		t.Fatalf("no pool serves %s among %+v", sock, f.Pools)
	}
	if p.Name != "lab" || p.File != filepath.Join(dir, "pool.d", "lab.conf") || p.MaxChildren != 1 || p.MaxChildrenLine != 8 || p.ListenBacklog != 3 || p.PM != "static" {
		t.Errorf("pool: got %+v", p)
	}
	if p.MaxChildrenReached != 1 || len(f.Log) != 1 || !strings.Contains(f.Log[0].Text, "server reached pm.max_children") {
		t.Errorf("log: got %d warnings in the window, lines %+v; want the fresh one only", p.MaxChildrenReached, f.Log)
	}
}
