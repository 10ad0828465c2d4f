package checks

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestNginxFileAccessRule(t *testing.T) {
	const tmp = "/var/lib/nginx/private/proxy/1/00/0000000001"
	block := host.Block{Path: tmp, Dir: "/var/lib/nginx/private", Need: "search", Owner: "root:root", Mode: "0700",
		Reason: "/var/lib/nginx/private (root:root 0700) does not let www-data enter (search) it", Change: []string{"chmod", "o+x", "/var/lib/nginx/private"}}
	fileLine := func(errno int) logs.Entry {
		e := entry(logs.FileAccess, tmp, now.Add(-time.Minute))
		e.Errno, e.Upstream = errno, "http://127.0.0.1:3000/"
		return e
	}
	testRule(t, CauseNginxFileAccess, []ruleCase{
		{"the workers cannot enter the temp path's parent", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(fileLine(13), fileLine(13))
			s.OwnFiles = map[string]host.Block{tmp: block}
		}, true, false, 2},
		{"the bits do not explain it: still nginx's side", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(fileLine(28))
		}, true, false, 1},
		{"a connect failure is the backend's, not nginx's files", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.ErrorLogs = lines(entry(logs.Refused, tcp3000.Address, now.Add(-time.Minute)))
		}, false, false, 0},
	})

	s := snap(tcp3000)
	s.WorkerUser = host.User{Name: "www-data", UID: 33, GID: 33}
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	s.ErrorLogs = lines(fileLine(13))
	s.OwnFiles = map[string]host.Block{tmp: block}
	s.Config.Passes[0].Settings["proxy_temp_path"] = []nginx.Directive{{Name: "proxy_temp_path", Args: []string{"/var/lib/nginx/private/proxy"}, At: nginx.Pos{File: "/etc/nginx/nginx.conf", Line: 30}}}
	cs := Diagnose(s)
	if len(cs) == 0 || cs[0].ID != CauseNginxFileAccess {
		t.Fatalf("got %v", ids(cs))
	}
	c := cs[0]
	for _, want := range []string{"www-data", "chmod o+x /var/lib/nginx/private", "proxy_temp_path /var/lib/nginx/private/proxy, /etc/nginx/nginx.conf:30", "not the backend's"} {
		if !strings.Contains(c.Summary+strings.Join(c.Evidence, "\n"), want) {
			t.Errorf("cause lacks %q: %s %q", want, c.Summary, c.Evidence)
		}
	}
	if c.Target != block.Dir || c.Facts.Blocker == nil || c.Facts.PassAt != "/etc/nginx/sites-enabled/app:12" {
		t.Errorf("target %s, facts %+v: want the blocking directory and the pass to replay", c.Target, c.Facts)
	}
	for _, o := range cs {
		if o.ID == CauseSELinuxDenied || o.Target == tcp3000.Address {
			t.Errorf("nginx's own file blamed on the backend: %s", o.ID)
		}
	}
}

// BlockFor walks the path as the worker would: the first directory it may
// not search, else the directory it may not create its file in.
func TestBlockFor(t *testing.T) {
	dir := func(uid, gid uint32, mode fs.FileMode) host.FileInfo {
		return host.FileInfo{Mode: fs.ModeDir | mode, UID: uid, GID: gid}
	}
	www := host.User{Name: "www-data", UID: 33, GID: 33, Groups: []uint32{33}}
	for _, tc := range []struct {
		name  string
		files map[string]host.FileInfo
		want  string // "dir need change"
	}{
		{"a parent closed to others", map[string]host.FileInfo{"/": dir(0, 0, 0o755), "/var": dir(0, 0, 0o755), "/var/cache": dir(0, 0, 0o700)}, "/var/cache search chmod o+x /var/cache"},
		{"a parent closed to the group", map[string]host.FileInfo{"/": dir(0, 0, 0o755), "/var": dir(0, 0, 0o755), "/var/cache": dir(0, 33, 0o701)}, "/var/cache search chmod g+x /var/cache"},
		{"a directory nginx must create in", map[string]host.FileInfo{"/": dir(0, 0, 0o755), "/var": dir(0, 0, 0o755), "/var/cache": dir(0, 0, 0o755)}, "/var/cache write chown www-data /var/cache"},
		{"nothing blocks", map[string]host.FileInfo{"/": dir(0, 0, 0o755), "/var": dir(0, 0, 0o755), "/var/cache": dir(33, 33, 0o700)}, ""},
	} {
		sys := fakeFiles(tc.files).sys()
		b, ok := host.BlockFor(sys, www, "/var/cache/x/1")
		got := ""
		if ok {
			got = b.Dir + " " + b.Need + " " + strings.Join(b.Change, " ")
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// fakeFiles is a System that knows only these paths (what BlockFor reads).
type fakeFiles map[string]host.FileInfo

type filesSys struct {
	host.System
	files fakeFiles
}

func (f fakeFiles) sys() host.System { return filesSys{files: f} }

func (s filesSys) Lstat(p string) (host.FileInfo, error) {
	if fi, ok := s.files[p]; ok {
		return fi, nil
	}
	return host.FileInfo{}, fs.ErrNotExist
}

func (filesSys) LookupUserID(uid uint32) (host.User, error) {
	return map[uint32]host.User{0: {Name: "root"}, 33: {Name: "www-data", UID: 33}}[uid], nil
}

func (filesSys) LookupGroupID(gid uint32) (string, error) {
	return map[uint32]string{0: "root", 33: "www-data"}[gid], nil
}
