package host

import (
	"fmt"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCanConnect builds real directories and unix sockets owned by real
// users, asks CanConnect, and checks each answer against the kernel by
// connecting as that user (Debian's python3 run with the user's credentials;
// a python3 under /root, such as pyenv's, would not run as another user).
func TestCanConnect(t *testing.T) {
	needRoot(t)
	sys := Live()
	nobody, err := sys.LookupUser("nobody")
	labtest.Need(t, err == nil, fmt.Sprintf("no user nobody here: %v", err))
	wwwData, err := sys.LookupUser("www-data")
	labtest.Need(t, err == nil, fmt.Sprintf("no user www-data here (the nginx package creates it): %v", err))
	root, err := sys.LookupUser("root")
	if err != nil {
		t.Fatal(err)
	}

	base, err := os.MkdirTemp("", "ngxdoctor-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(base, 0o755))
	sock := func(rel string, uid, gid int, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(base, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		ln, err := net.Listen("unix", p)
		must(err)
		t.Cleanup(func() { ln.Close() })
		must(os.Chown(p, uid, gid))
		must(os.Chmod(p, mode))
		return p
	}
	www := int(wwwData.GID)
	open := sock("open/app.sock", 0, 0, 0o666)
	rootOnly := sock("rootonly/app.sock", 0, 0, 0o600)
	group := sock("group/app.sock", 0, www, 0o660)
	groupRO := sock("groupro/app.sock", 0, www, 0o640)
	owned := sock("owned/app.sock", int(nobody.UID), int(nobody.GID), 0o600)
	private := filepath.Join(base, "private")
	hidden := sock("private/app.sock", 0, 0, 0o666)
	must(os.Chmod(private, 0o700))
	link := filepath.Join(base, "link.sock")
	must(os.Symlink("open/app.sock", link))
	linkHidden := filepath.Join(base, "hidden.sock")
	must(os.Symlink(hidden, linkHidden))
	loop := filepath.Join(base, "loop.sock")
	must(os.Symlink("loop.sock", loop))
	regular := filepath.Join(base, "file.sock")
	must(os.WriteFile(regular, nil, 0o666))

	cases := []struct {
		name       string
		user       User
		path       string
		wantOK     bool
		wantReason []string
		wantDir    string
	}{
		{"world-writable socket", nobody, open, true, []string{"nobody may connect", "root:root 0666"}, ""},
		{"root-only socket", nobody, rootOnly, false, []string{"socket root:root 0600; nobody is not the owner and not in group root"}, ""},
		{"group may write", wwwData, group, true, []string{"root:www-data 0660"}, ""},
		{"not in the group", nobody, group, false, []string{"not in group www-data"}, ""},
		{"group may not write", wwwData, groupRO, false, []string{"socket root:www-data 0640; www-data is in group www-data, which may not write to it"}, ""},
		{"owner", nobody, owned, true, []string{"nobody:nogroup 0600"}, ""},
		{"directory without search", nobody, hidden, false, []string{"directory " + private + " root:root 0700"}, private},
		{"symlink to an open socket", nobody, link, true, []string{"via symlink " + link + " -> open/app.sock"}, ""},
		{"symlink into a closed directory", nobody, linkHidden, false, []string{"directory " + private}, private},
		{"root may do anything", root, hidden, true, []string{"root may connect"}, ""},
		{"symlink loop", nobody, loop, false, []string{"too many levels of symlinks"}, ""},
		{"regular file", nobody, regular, false, []string{"is a regular file, not a socket"}, ""},
		{"missing socket", wwwData, filepath.Join(base, "open/php.sock"), false, []string{"does not exist"}, ""},
		{"relative path", wwwData, "run/php.sock", false, []string{"not an absolute path"}, ""},
	}
	py := "/usr/bin/python3"
	_, pyErr := os.Stat(py)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, dir := CanConnect(sys, tc.user, tc.path)
			if ok != tc.wantOK || dir != tc.wantDir {
				t.Errorf("got ok=%v blocked=%q, want ok=%v blocked=%q (reason %q)", ok, dir, tc.wantOK, tc.wantDir, reason)
			}
			for _, w := range tc.wantReason {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q does not say %q", reason, w)
				}
			}
			if pyErr != nil || !filepath.IsAbs(tc.path) {
				return
			}
			// The kernel's verdict, as the same user.
			cmd := exec.Command(py, "-c", "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])", tc.path)
			cmd.Dir = "/"
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: tc.user.UID, Gid: tc.user.GID, Groups: tc.user.Groups}}
			real := cmd.Run() == nil
			if real != ok {
				t.Errorf("CanConnect says %v, but connecting as %s really gives %v", ok, tc.user.Name, real)
			}
		})
	}
}
