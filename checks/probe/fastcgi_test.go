package probe

import (
	"context"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

const phpFPM = "/usr/sbin/php-fpm8.2"

// needs skips a test whose tool is missing on a developer's machine, but
// fails it in CI, where a skipped check would hide a broken probe.
func needs(t *testing.T, what string, ok bool) {
	t.Helper()
	labtest.Need(t, ok, what+" is not available")
}

// startPHPFPM runs a real php-fpm with one pool on a unix socket in a
// temporary directory and returns the socket's path.
func startPHPFPM(t *testing.T) string {
	t.Helper()
	_, err := os.Stat(phpFPM)
	needs(t, phpFPM, err == nil)
	dir := t.TempDir()
	sock := filepath.Join(dir, "php-fpm.sock")
	conf := "[global]\n" +
		"pid = " + filepath.Join(dir, "php-fpm.pid") + "\n" +
		"error_log = " + filepath.Join(dir, "php-fpm.log") + "\n" +
		"daemonize = no\n" +
		"[probe]\n" +
		"listen = " + sock + "\n" +
		"listen.mode = 0666\n" +
		"pm = static\n" +
		"pm.max_children = 1\n"
	if os.Geteuid() == 0 {
		// php-fpm refuses to run a pool as root without -R.
		conf += "user = nobody\ngroup = nogroup\n"
	}
	confPath := filepath.Join(dir, "php-fpm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(phpFPM, "-F", "-y", confPath, "-p", dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start php-fpm: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "php-fpm.log"))
			t.Fatalf("php-fpm exited: %v\n%s", err, log)
		default:
		}
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
	}
	t.Fatal("php-fpm did not create its socket within 10s")
	return ""
}

func TestFastCGIAgainstPHPFPM(t *testing.T) {
	sock := startPHPFPM(t)
	tg := unixTarget("fastcgi", sock)
	// Twice: the pool's one child must be free again after a probe.
	for i := range 2 {
		res := All(context.Background(), sys, []nginx.Target{tg}, nil, 2*time.Second, 0)[tg.Address]
		if res.Status != Connected {
			t.Fatalf("probe %d: got %s %q, want %s", i, res.Status, res.Error, Connected)
		}
		h := res.HTTP
		if h == nil || h.Status != 200 || h.Protocol != "fastcgi" || h.Class != "" {
			t.Fatalf("probe %d: got %+v, want a FastCGI answer with status 200", i, h)
		}
		if h.HeaderBytes < 8 || h.TTFB <= 0 {
			t.Errorf("probe %d: header bytes %d, TTFB %v: want a measured record", i, h.HeaderBytes, h.TTFB)
		}
	}
}
