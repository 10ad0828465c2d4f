package nginx

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

// twoMasters: the distribution's nginx (no -c: its compiled default) and a
// second instance with its own -c and -p, started later.
var twoMasters = []host.Process{
	{PID: 1, Name: "systemd", Cmdline: []string{"/sbin/init"}},
	{PID: 700, PPID: 1, Name: "nginx", Exe: "/usr/sbin/nginx", Started: t0.Add(time.Hour), Cmdline: []string{"nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"}},
	{PID: 701, PPID: 700, Name: "nginx", Exe: "/usr/sbin/nginx", User: "www-data", Cmdline: []string{"nginx: worker process"}},
	{PID: 650, PPID: 1, Name: "nginx", Exe: "/usr/sbin/nginx", Started: t0, Cmdline: []string{"nginx: master process /usr/sbin/nginx -p /srv/shop -c conf/shop.conf"}},
	{PID: 651, PPID: 650, Name: "nginx", Exe: "/usr/sbin/nginx", User: "shop", Cmdline: []string{"nginx: worker process"}},
	// A worker just forked still bears its master's title: not a master.
	{PID: 652, PPID: 650, Name: "nginx", Exe: "/usr/sbin/nginx", Cmdline: []string{"nginx: master process /usr/sbin/nginx -p /srv/shop -c conf/shop.conf"}},
}

func TestFindMaster(t *testing.T) {
	onPath := map[string]string{"nginx": "/usr/sbin/nginx"}
	// The oldest wins when no master runs the PATH nginx's default.
	custom := append([]host.Process(nil), twoMasters...)
	custom[1].Cmdline = []string{"nginx: master process /usr/sbin/nginx -c /srv/blog/nginx.conf"}
	tests := []struct {
		name  string
		procs []host.Process
		bins  map[string]string
		want  Want
		pid   int32 // 0: not running
		why   []string
	}{
		{name: "-c names the second master", procs: twoMasters, bins: onPath, want: Want{Config: "/srv/shop/conf/shop.conf"},
			pid: 650, why: []string{"pid 650 runs /srv/shop/conf/shop.conf (its -c)"}},
		{name: "-c names the default config", procs: twoMasters, bins: onPath, want: Want{Config: "/etc/nginx/nginx.conf"},
			pid: 700, why: []string{"pid 700 runs /etc/nginx/nginx.conf (the compiled default of /usr/sbin/nginx)"}},
		{name: "-c names a config no master runs", procs: twoMasters, bins: onPath, want: Want{Config: "/srv/stopped/nginx.conf"},
			why: []string{"no nginx master runs /srv/stopped/nginx.conf", "pid 650 runs /srv/shop/conf/shop.conf", "pid 700 runs /etc/nginx/nginx.conf"}},
		{name: "several masters: the default config of the nginx on PATH", procs: twoMasters, bins: onPath,
			pid: 700, why: []string{"2 nginx masters run", "took pid 700", "default config of the nginx on PATH", "pid 650 runs /srv/shop/conf/shop.conf"}},
		{name: "several masters, none the default: the oldest", procs: custom, bins: onPath,
			pid: 650, why: []string{"took the oldest, pid 650", "pid 700 runs /srv/blog/nginx.conf"}},
		{name: "a pid asked for", procs: twoMasters, bins: onPath, want: Want{PID: 650},
			pid: 650, why: []string{"pid 650 was asked for"}},
		{name: "a pid that is a worker", procs: twoMasters, bins: onPath, want: Want{PID: 701},
			why: []string{"pid 701 was asked for, but it is not a running nginx master"}},
		{name: "a pid of another config", procs: twoMasters, bins: onPath, want: Want{PID: 650, Config: "/etc/nginx/nginx.conf"},
			why: []string{"pid 650 was asked for, but it runs /srv/shop/conf/shop.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Find(context.Background(), stagedSystem{procs: tt.procs, bins: tt.bins}, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if in.MasterPID != tt.pid || in.Running != (tt.pid != 0) {
				t.Errorf("took pid %d (running %v), want %d", in.MasterPID, in.Running, tt.pid)
			}
			for _, w := range tt.why {
				if !strings.Contains(in.Chosen, w) {
					t.Errorf("chosen: %q\nwant it to say %q", in.Chosen, w)
				}
			}
			if len(in.Masters) != 2 || in.Masters[0].PID != 650 || in.Masters[1].PID != 700 || len(in.WorkerPIDs) > 1 {
				t.Errorf("masters: got %+v, want both, oldest first", in.Masters)
			}
			if tt.pid == 0 && len(in.WorkerPIDs) != 0 {
				t.Errorf("workers %v of a master not taken", in.WorkerPIDs)
			}
		})
	}
}

func TestVerifyMaster(t *testing.T) {
	ctx := context.Background()
	sys := stagedSystem{procs: twoMasters, bins: map[string]string{"nginx": "/usr/sbin/nginx"}}
	if m, err := VerifyMaster(ctx, sys, 650, "/srv/shop/conf/shop.conf"); err != nil || m.PID != 650 {
		t.Errorf("the master of its own config: got %+v, %v", m, err)
	}
	if m, err := VerifyMaster(ctx, sys, 700, "/etc/nginx/nginx.conf"); err != nil || m.PID != 700 {
		t.Errorf("a master without -c, by its binary's default: got %+v, %v", m, err)
	}
	if m, err := VerifyMaster(ctx, sys, 0, "/srv/shop/conf/shop.conf"); err != nil || m.PID != 650 {
		t.Errorf("the master of a config, no pid known: got %+v, %v", m, err)
	}
	refused := []struct {
		name   string
		pid    int32
		config string
		sys    host.System
		want   error
		say    string
	}{
		{"another config's master", 700, "/srv/shop/conf/shop.conf", sys, ErrNotMaster, "pid 700 runs /etc/nginx/nginx.conf, not /srv/shop/conf/shop.conf; pid 650 runs /srv/shop/conf/shop.conf now"},
		{"a worker", 651, "/srv/shop/conf/shop.conf", sys, ErrNotMaster, "pid 651 is not an nginx master"},
		{"a worker not yet renamed", 652, "/srv/shop/conf/shop.conf", sys, ErrNotMaster, "pid 652's parent 650 is an nginx process"},
		{"gone", 9999, "/srv/shop/conf/shop.conf", sys, ErrNotMaster, "pid 9999 is gone"},
		{"no master runs it", 0, "/srv/stopped/nginx.conf", sys, ErrNoMaster, "/srv/stopped/nginx.conf"},
		{"a master under a worker", 660, "/srv/x/nginx.conf", stagedSystem{procs: append(append([]host.Process(nil), twoMasters...),
			host.Process{PID: 660, PPID: 651, Name: "nginx", Cmdline: []string{"nginx: master process nginx -c /srv/x/nginx.conf"}})}, ErrNotMaster, "parent 651 is an nginx process"},
	}
	for _, tt := range refused {
		m, err := VerifyMaster(ctx, tt.sys, tt.pid, tt.config)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.say) {
			t.Errorf("%s: got %+v, %v; want %v saying %q", tt.name, m, err, tt.want, tt.say)
		}
	}
}
