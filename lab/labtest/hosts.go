package labtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// envHosts carries the wanted /etc/hosts to the re-run test.
const envHosts = "NGXDOCTOR_TEST_PRIVATE_HOSTS"

// envParentNS is the caller's mount namespace, which the re-run must not be in.
const envParentNS = "NGXDOCTOR_TEST_PARENT_MNTNS"

// PrivateHosts runs t with /etc/hosts replaced by hosts, never touching the
// machine's file: the test binary re-runs this one test under
// `unshare -m` (a private mount namespace), where a temp file is bind-mounted
// over /etc/hosts; nginx, php-fpm and the resolver started from there see
// it, nothing outside does.
//
// It returns true in that re-run, where the test goes on, and false in the
// caller's process, which has waited for the re-run and reported its
// outcome as t's: the caller then returns at once.
//
//	if !labtest.PrivateHosts(t, hosts) {
//		return
//	}
func PrivateHosts(t *testing.T, hosts string) bool {
	t.Helper()
	if os.Getenv(envHosts) == hosts {
		inside(t, hosts)
		return true
	}
	Need(t, os.Geteuid() == 0, "a private mount namespace for /etc/hosts needs root")
	unshare, err := exec.LookPath("unshare")
	Need(t, err == nil, "unshare (util-linux) is not installed")

	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	args := []string{"-m", "--propagation", "private", os.Args[0],
		"-test.run", strings.Join(parts, "/"), "-test.v", "-test.count=1"}
	cmd := exec.Command(unshare, args...)
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatalf("read this process's mount namespace: %v", err)
	}
	cmd.Env = append(os.Environ(), envHosts+"="+hosts, envParentNS+"="+ns)
	out, err := cmd.CombinedOutput()
	t.Logf("re-run in a private mount namespace with /etc/hosts:\n%s\n%s", hosts, out)
	switch {
	case err != nil:
		t.Fatalf("the re-run failed: %v", err)
	case !strings.Contains(string(out), "--- PASS: "+parts0(t.Name())) && !strings.Contains(string(out), "--- SKIP"):
		t.Fatalf("the re-run did not run %s", t.Name())
	case strings.Contains(string(out), "--- SKIP"):
		t.Skip("skipped in the re-run (see the log above)")
	}
	return false
}

func parts0(name string) string { return strings.Split(name, "/")[0] }

// inside bind-mounts hosts over /etc/hosts, after making sure that this
// process is not in the machine's mount namespace.
func inside(t *testing.T, hosts string) {
	t.Helper()
	self, err := os.Readlink("/proc/self/ns/mnt")
	parent := os.Getenv(envParentNS)
	if err != nil || parent == "" || self == parent {
		t.Fatalf("refusing to replace /etc/hosts outside a private mount namespace (this process: %s, the caller's: %s)", self, parent)
	}
	f := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(f, []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(f, "/etc/hosts", "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mount over /etc/hosts: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount("/etc/hosts", 0) })
}
