package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotRegular is returned by Open for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

const (
	// outputCap bounds what Run keeps of each stream: enough for any
	// ruleset or journal, small enough that a chatty tool cannot exhaust memory.
	outputCap = 4 << 20
	// defaultTimeout applies when a caller passes a context without a
	// deadline: nothing ngxdoctor does on the host may hang forever.
	defaultTimeout = 10 * time.Second
)

// sbinDirs are searched after PATH: a non-root login often lacks them,
// yet nginx, iptables and getenforce live there.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

type live struct {
	users sync.Map // uid -> name, so listing processes reads /etc/passwd once per uid
}

// Live is the real host.
func Live() System { return &live{} }

func (l *live) Now() time.Time           { return time.Now() }
func (l *live) Location() *time.Location { return time.Local }
func (l *live) Euid() int                { return os.Geteuid() }

func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultTimeout)
}

func (l *live) userName(uid uint32) string {
	if v, ok := l.users.Load(uid); ok {
		return v.(string)
	}
	name := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	l.users.Store(uid, name)
	return name
}

func (l *live) Processes(ctx context.Context) ([]Process, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return listProcesses(ctx, l.userName)
}

// parseCgroup picks the unified (v2) cgroup path from /proc/PID/cgroup,
// else the name=systemd hierarchy's.
func parseCgroup(s string) string {
	var v1 string
	for _, line := range strings.Split(s, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			return f[2]
		}
		if f[1] == "name=systemd" {
			v1 = f[2]
		}
	}
	return v1
}

func (l *live) Listeners(ctx context.Context) ([]Listener, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return listListeners(ctx, l.userName)
}

func (l *live) Lstat(path string) (FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return FileInfo{}, err
	}
	info := FileInfo{Path: path, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.UID, info.GID = st.Uid, st.Gid
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		info.Target, _ = os.Readlink(path)
	}
	return info, nil
}

type osFile struct {
	f    *os.File
	size int64
}

func (f *osFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *osFile) Close() error                            { return f.f.Close() }
func (f *osFile) Size() int64                             { return f.size }

func (l *live) Open(path string) (File, error) {
	// O_NONBLOCK so that opening a FIFO returns at once instead of waiting
	// for a writer; the type is checked on the opened descriptor (fstat) so
	// a symlinked log is fine but nothing can swap the file in between.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kindOf(fi.Mode()))}
	}
	return &osFile{f: f, size: fi.Size()}, nil
}

// kindOf names a file type the way a person would say it.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

func (l *live) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

func (l *live) LookupUser(name string) (User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return User{}, err
	}
	return convertUser(u)
}

func (l *live) LookupUserID(uid uint32) (User, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return User{}, err
	}
	return convertUser(u)
}

func convertUser(u *user.User) (User, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	out := User{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Groups: []uint32{uint32(gid)}}
	ids, err := u.GroupIds()
	if err != nil {
		// The primary group is still known; supplementary ones are a bonus.
		return out, nil
	}
	for _, s := range ids {
		g, err := strconv.ParseUint(s, 10, 32)
		if err != nil || uint32(g) == out.GID {
			continue
		}
		out.Groups = append(out.Groups, uint32(g))
	}
	return out, nil
}

func (l *live) LookupGroupID(gid uint32) (string, error) {
	g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10))
	if err != nil {
		return "", err
	}
	return g.Name, nil
}

func (l *live) LookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil || strings.Contains(name, "/") {
		return p, err
	}
	for _, dir := range sbinDirs {
		cand := filepath.Join(dir, name)
		if fi, serr := os.Stat(cand); serr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", err
}

// capped keeps the first n bytes and discards the rest, so the child never
// blocks on a full pipe.
type capped struct {
	buf bytes.Buffer
	n   int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.n - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}

func (l *live) Run(ctx context.Context, name string, args ...string) (Output, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	path, err := l.LookPath(name)
	if err != nil {
		return Output{}, fmt.Errorf("run %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = name
	// The C locale keeps tool output in the English the parsers expect.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// A grandchild holding the pipes open must not outlive the deadline.
	cmd.WaitDelay = time.Second
	stdout, stderr := &capped{n: outputCap}, &capped{n: outputCap}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	out := Output{Stdout: bytesOrNil(stdout.buf.Bytes()), Stderr: bytesOrNil(stderr.buf.Bytes())}
	if ctx.Err() != nil {
		out.ExitCode = -1
		return out, fmt.Errorf("run %s: %w", name, ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		out.ExitCode = exitErr.ExitCode()
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("run %s: %w", name, err)
	}
	return out, nil
}

func (l *live) LookupHost(ctx context.Context, host string) ([]string, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return net.DefaultResolver.LookupHost(ctx, host)
}

func (l *live) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// bytesOrNil makes "no output" one value, live and replayed.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
