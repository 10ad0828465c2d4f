package main

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor"
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/lab"
)

var recordDemo = flag.Bool("record-demo", false, "record the demo incident from a real lab into testdata/demo/incident.json")

// TestDemo replays the built-in incident: it must read as a Debian server
// whose php-fpm socket is closed to nginx's workers, diagnosed as such.
func TestDemo(t *testing.T) {
	rec, err := host.LoadRecording(ngxdoctor.DemoRecording)
	if err != nil {
		t.Fatalf("demo recording: %v", err)
	}
	if strings.Contains(string(ngxdoctor.DemoRecording), "ngxdoctor-lab") {
		t.Errorf("the demo still shows lab paths")
	}
	o, err := checks.Run(context.Background(), host.Replay(rec), checks.Options{Since: checks.DefaultWindow, Timeout: checks.DefaultTimeout}, nil)
	if err != nil {
		t.Fatalf("demo run: %v", err)
	}
	if len(o.Causes) == 0 || o.Causes[0].ID != "socket-permission" || o.Causes[0].Target != "unix:/run/php/php8.2-fpm.sock" {
		t.Fatalf("demo verdict: got %+v, want socket-permission on unix:/run/php/php8.2-fpm.sock", o.Causes)
	}
	if o.Causes[0].Occurrences == 0 || !o.Causes[0].Live {
		t.Errorf("demo cause should be confirmed live and in the log: %+v", o.Causes[0])
	}
	if fx := fixes.Plan(o); len(fx) == 0 || len(fx[0]) == 0 {
		t.Errorf("demo offers no fix for its cause")
	}
}

// TestRecordDemo makes the demo: a real socket-permission lab, recorded
// through host.Record while ngxdoctor diagnoses it, then moved to the
// paths of a Debian server. Run by hand:
//
//	go test ./cmd/ngxdoctor -run TestRecordDemo -record-demo
func TestRecordDemo(t *testing.T) {
	if !*recordDemo {
		t.Skip("only with -record-demo: it rewrites testdata/demo/incident.json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc, _ := lab.Find("socket-permission")
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 4 {
		l.Trigger(ctx, 1+len(l.Dir)%5)
		time.Sleep(1200 * time.Millisecond) // spread the log lines over a few seconds
	}
	r := host.Record(host.Live())
	o, err := checks.Run(ctx, r, checks.Options{Config: l.Config, Nginx: l.Nginx}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixes.Plan(o) // the planner's reads (the php-fpm pool) belong in the recording too
	rec := r.Recording()
	keepOnly(rec, l)
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := relocate(string(b), l)
	// Discovery must find the master by itself in the demo: drop the -c we passed.
	if _, err := host.LoadRecording([]byte(out)); err != nil {
		t.Fatalf("rewritten recording: %v", err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "testdata", "demo", "incident.json"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// keepOnly drops what the recording saw of other programs on this machine.
func keepOnly(rec *host.Recording, l *lab.Lab) {
	pids := map[int32]bool{}
	for _, p := range l.Processes() {
		pids[int32(p)] = true
	}
	var ps []host.Process
	for _, p := range rec.Processes {
		if pids[p.PID] {
			p.Cgroup = ""
			ps = append(ps, p)
		}
	}
	rec.Processes = ps
	var ls []host.Listener
	for _, x := range rec.Listeners {
		if pids[x.PID] || strings.HasPrefix(x.Address, l.Dir) {
			ls = append(ls, x)
		}
	}
	rec.Listeners = ls
	// The machine is the one recorded (OS, kernel, uptime); only its name
	// becomes the demo shop's, like the paths below.
	if rec.Machine != nil {
		rec.Machine.Name = "shop-web-1"
	}
	// Lab-only lines of the main config would give the answer away.
	if f := rec.Files[l.Config]; f != nil && f.Content != nil {
		var keep []string
		for _, line := range strings.Split(*f.Content, "\n") {
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, "# ngxdoctor lab") || strings.HasPrefix(t, "# The lab runs") || t == "daemon off;" || strings.HasSuffix(strings.Fields(t + " x")[0], "_temp_path") {
				continue
			}
			keep = append(keep, line)
		}
		c := strings.Join(keep, "\n")
		f.Content = &c
	}
	// Directories on the new socket path, as on Debian.
	dir := rec.Files[l.Dir]
	for _, d := range []string{"/run", "/var", "/var/log", "/var/log/nginx", "/etc/php", "/etc/php/8.2", "/etc/php/8.2/fpm", "/etc/php/8.2/fpm/pool.d"} {
		if _, ok := rec.Files[d]; !ok && dir != nil && dir.Stat != nil {
			st := *dir.Stat
			st.Path, st.Mode = d, fs.ModeDir|0o755
			rec.Files[d] = &host.RecordedFile{Stat: &st}
		}
	}
}

// relocate moves the lab's paths, port and name to a Debian server's.
func relocate(s string, l *lab.Lab) string {
	d := l.Dir
	pairs := [][2]string{
		{d + "/nginx.conf", "/etc/nginx/nginx.conf"},
		{d + "/sites-enabled/app.conf", "/etc/nginx/sites-enabled/shop.conf"},
		{d + "/sites-enabled", "/etc/nginx/sites-enabled"},
		{d + "/error.log", "/var/log/nginx/error.log"},
		{d + "/access.log", "/var/log/nginx/access.log"},
		{d + "/nginx.pid", "/run/nginx.pid"},
		{d + "/run/php-fpm.sock", "/run/php/php8.2-fpm.sock"},
		{d + "/run", "/run/php"},
		{d + "/php-fpm.conf", "/etc/php/8.2/fpm/pool.d/www.conf"},
		{d + "/www", "/var/www/shop"},
		{d + "/tmp", "/var/lib/nginx"},
		{d + "/", "/etc/nginx/"},
		{d, "/etc/nginx"},
		{l.Addr, "127.0.0.1:80"},
		{"lab.test", "shop.example.com"},
		{`ngxdoctor-lab\"`, `Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\"`},
	}
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	for _, p := range pairs {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}
