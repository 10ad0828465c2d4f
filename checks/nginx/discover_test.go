package nginx

import (
	"context"
	"errors"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

const nginxV = `nginx version: nginx/1.22.1
built with OpenSSL 3.0.9 30 May 2023 (running with OpenSSL 3.0.11 19 Sep 2023)
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log --error-log-path=stderr --lock-path=/var/lock/nginx.lock --pid-path=/run/nginx.pid
`

// stagedSystem is a host with staged processes, binaries and files.
type stagedSystem struct {
	memSystem
	procs []host.Process
	bins  map[string]string // name on PATH → path
	runs  *[]string
}

func (s stagedSystem) Processes(context.Context) ([]host.Process, error) { return s.procs, nil }

func (s stagedSystem) LookPath(name string) (string, error) {
	if p, ok := s.bins[name]; ok {
		return p, nil
	}
	return "", exec.ErrNotFound
}

func (s stagedSystem) Run(_ context.Context, name string, args ...string) (host.Output, error) {
	if s.runs != nil {
		*s.runs = append(*s.runs, strings.Join(append([]string{name}, args...), " "))
	}
	known := false
	for _, p := range s.bins {
		known = known || p == name
	}
	for _, p := range s.procs {
		known = known || p.Exe == name
	}
	if !known {
		return host.Output{}, &exec.Error{Name: name, Err: exec.ErrNotFound}
	}
	if slices.Equal(args, []string{"-V"}) {
		return host.Output{Stderr: []byte(nginxV)}, nil
	}
	return host.Output{ExitCode: 1}, nil
}

var debianProcs = []host.Process{
	{PID: 1, Name: "systemd", Cmdline: []string{"/sbin/init"}, User: "root"},
	{PID: 812, PPID: 1, Name: "nginx", Exe: "/usr/sbin/nginx", User: "root",
		Cmdline: []string{"nginx: master process /usr/sbin/nginx -c /srv/nginx/nginx.conf -g daemon on; master_process on;"}},
	{PID: 813, PPID: 812, Name: "nginx", Exe: "/usr/sbin/nginx", User: "www-data", Cmdline: []string{"nginx: worker process"}},
	{PID: 814, PPID: 812, Name: "nginx", Exe: "/usr/sbin/nginx", User: "www-data", Cmdline: []string{"nginx: worker process", ""}},
	{PID: 900, PPID: 1, Name: "nginx", Exe: "/usr/sbin/nginx", User: "root", Cmdline: []string{"nginx: cache manager process"}},
}

func TestDiscover(t *testing.T) {
	userConf := map[string][]byte{"/etc/nginx/nginx.conf": []byte("user www-data;\nevents {}\n")}
	tests := []struct {
		name                   string
		sys                    stagedSystem
		configFlag, binaryFlag string
		want                   Install
	}{
		{
			name: "running master with -c",
			sys:  stagedSystem{procs: debianProcs},
			want: Install{Binary: "/usr/sbin/nginx", Version: "1.22.1", Config: "/srv/nginx/nginx.conf", ConfigFrom: "master -c",
				Running: true, MasterPID: 812, WorkerPIDs: []int32{813, 814}, WorkerUser: "www-data", ErrorLogDefault: "stderr", Prefix: "/usr/share/nginx"},
		},
		{
			// The master runs another config: it is not the one asked about.
			name:       "flags win over the master",
			sys:        stagedSystem{procs: debianProcs, bins: map[string]string{"other": "/opt/nginx/sbin/nginx"}},
			configFlag: "/tmp/test.conf", binaryFlag: "/opt/nginx/sbin/nginx",
			want: Install{Binary: "/opt/nginx/sbin/nginx", Version: "1.22.1", Config: "/tmp/test.conf", ConfigFrom: "flag",
				WorkerUser: "nobody", ErrorLogDefault: "stderr", Prefix: "/usr/share/nginx"},
		},
		{
			name: "master started without -c uses the compiled path",
			sys: stagedSystem{bins: map[string]string{"upgraded": "/usr/sbin/nginx"}, procs: []host.Process{{PID: 5, PPID: 1, Name: "nginx", Exe: "/usr/sbin/nginx (deleted)", Cmdline: []string{"nginx: master process /usr/sbin/nginx"}},
				{PID: 6, PPID: 5, Name: "nginx", User: "nginx", Cmdline: []string{"nginx: worker process"}}}},
			want: Install{Binary: "/usr/sbin/nginx", Version: "1.22.1", Config: "/etc/nginx/nginx.conf", ConfigFrom: "nginx -V",
				Running: true, MasterPID: 5, WorkerPIDs: []int32{6}, WorkerUser: "nginx", ErrorLogDefault: "stderr", Prefix: "/usr/share/nginx"},
		},
		{
			name: "not running: nginx -V, worker user from the config",
			sys:  stagedSystem{memSystem: memSystem{files: userConf}, bins: map[string]string{"nginx": "/usr/sbin/nginx"}},
			want: Install{Binary: "/usr/sbin/nginx", Version: "1.22.1", Config: "/etc/nginx/nginx.conf", ConfigFrom: "nginx -V",
				WorkerUser: "www-data", ErrorLogDefault: "stderr", Prefix: "/usr/share/nginx"},
		},
		{
			name: "no binary, no master, but the default config",
			sys:  stagedSystem{memSystem: memSystem{files: map[string][]byte{"/etc/nginx/nginx.conf": []byte("events {}\n")}}},
			want: Install{Config: "/etc/nginx/nginx.conf", ConfigFrom: "default", WorkerUser: "nobody"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Discover(context.Background(), tt.sys, tt.configFlag, tt.binaryFlag)
			if err != nil {
				t.Fatal(err)
			}
			if !equalInstall(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalInstall(a, b Install) bool {
	if !slices.Equal(a.WorkerPIDs, b.WorkerPIDs) {
		return false
	}
	a.WorkerPIDs, b.WorkerPIDs = nil, nil
	// The list of masters and the reason for the choice: TestFindMaster.
	a.Masters, b.Masters, a.Chosen, b.Chosen = nil, nil, "", ""
	return reflect.DeepEqual(a, b)
}

func TestDiscoverNothing(t *testing.T) {
	_, err := Discover(context.Background(), stagedSystem{}, "", "")
	if err == nil {
		t.Fatal("got no error with no nginx anywhere, want one")
	}
	for _, w := range []string{"master", "/etc/nginx/nginx.conf", "--config", "--nginx"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %q, want it to mention %q", err, w)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct{ out, want string }{
		{"nginx version: nginx/1.22.1\n", "1.22.1"},
		{nginxV, "1.22.1"},
		{"nginx version: openresty/1.21.4.1\nbuilt by gcc", "1.21.4.1"},
		{"nginx version: nginx/1.25.3 (Ubuntu)\n", "1.25.3"},
		{"command not found", ""},
	}
	for _, tt := range tests {
		if got := ParseVersion(tt.out); got != tt.want {
			t.Errorf("ParseVersion(%q): got %q, want %q", tt.out, got, tt.want)
		}
	}
}

// realNginx returns the installed nginx, or skips (fails under CI) when absent.
func realNginx(t *testing.T) string {
	t.Helper()
	const bin = "/usr/sbin/nginx"
	_, err := os.Stat(bin)
	if err == nil && os.Geteuid() == 0 {
		return bin
	}
	labtest.Need(t, false, "needs nginx at "+bin+" and root (nginx -t opens its pid, log and temp paths as the master would)")
	return ""
}

// selfContained copies the self-contained fixture into a temp dir so that
// nginx may create its pid, logs and temp dirs there.
func selfContained(t *testing.T) string {
	t.Helper()
	src := fixture(t, "selfcontained")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, r)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestConfigTest(t *testing.T) {
	bin := realNginx(t)
	dir := selfContained(t)
	conf := filepath.Join(dir, "nginx.conf")
	// nginx resolves pid and log paths against its prefix: the conf dir here.
	sys := osSystem{run: func(ctx context.Context, name string, args ...string) (host.Output, error) {
		return osSystem{}.Run(ctx, name, append([]string{"-p", dir + "/", "-e", filepath.Join(dir, "error.log")}, args...)...)
	}}
	ok, out, err := ConfigTest(context.Background(), sys, bin, conf)
	if err != nil || !ok || !strings.Contains(out, "test is successful") {
		t.Errorf("valid config: got ok=%v err=%v output %q, want ok and \"test is successful\"", ok, err, out)
	}

	if err := os.WriteFile(filepath.Join(dir, "conf.d", "bad.conf"), []byte("upstream x { server 127.0.0.1:1 weight=zero; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok, out, err = ConfigTest(context.Background(), sys, bin, conf)
	if err != nil || ok || !strings.Contains(out, "bad.conf:1") {
		t.Errorf("broken config: got ok=%v err=%v output %q, want not ok naming bad.conf:1", ok, err, out)
	}

	_, _, err = ConfigTest(context.Background(), osSystem{}, filepath.Join(dir, "no-such-nginx"), conf)
	if err == nil || !errors.Is(err, os.ErrNotExist) && !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing binary: got %v, want an error saying it could not run", err)
	}
}

// TestDumpMatchesLoad runs the real `nginx -T` and checks that reading its
// output gives exactly what reading the files gives.
func TestDumpMatchesLoad(t *testing.T) {
	bin := realNginx(t)
	dir := selfContained(t)
	conf := filepath.Join(dir, "nginx.conf")
	out, err := exec.Command(bin, "-T", "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -T: %v\n%s", err, out)
	}
	fromFiles, err := Load(context.Background(), osSystem{}, conf)
	if err != nil {
		t.Fatal(err)
	}
	fromDump, err := LoadDump(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFiles.Errors)+len(fromDump.Errors) > 0 {
		t.Errorf("got errors %q and %q, want none", fromFiles.Errors, fromDump.Errors)
	}
	if !slices.Equal(fromFiles.Files, fromDump.Files) {
		t.Errorf("files: got %q from the dump, want %q", fromDump.Files, fromFiles.Files)
	}
	a, b := fromFiles.Targets(), fromDump.Targets()
	if len(a) != 7 {
		t.Errorf("got %d targets, want 7", len(a))
	}
	if !equalJSON(t, a, b) {
		t.Errorf("targets differ:\nfiles %+v\ndump  %+v", a, b)
	}
	if !equalJSON(t, fromFiles.Passes, fromDump.Passes) {
		t.Errorf("passes differ:\nfiles %+v\ndump  %+v", fromFiles.Passes, fromDump.Passes)
	}
}
