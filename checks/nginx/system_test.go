package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

var errUnimplemented = errors.New("not implemented in the test system")

// osSystem is a minimal host.System over the real machine for these tests:
// checks/host's Live is written elsewhere and must not be depended on here.
// Processes and LookPath can be overridden to stage discovery.
type osSystem struct {
	procs    []host.Process
	lookPath func(string) (string, error)
	run      func(ctx context.Context, name string, args ...string) (host.Output, error)
}

func (osSystem) Now() time.Time           { return time.Now() }
func (osSystem) Location() *time.Location { return time.Local }
func (osSystem) Euid() int                { return os.Geteuid() }
func (s osSystem) Processes(context.Context) ([]host.Process, error) {
	return s.procs, nil
}
func (osSystem) Machine(context.Context) (host.Machine, error) {
	return host.Machine{}, errUnimplemented
}
func (osSystem) Resources(context.Context) (host.Resources, error) {
	return host.Resources{}, errUnimplemented
}
func (osSystem) Listeners(context.Context) ([]host.Listener, error) {
	return nil, errUnimplemented
}

func (osSystem) Lstat(path string) (host.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return host.FileInfo{}, err
	}
	return host.FileInfo{Path: path, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

type osFile struct{ *os.File }

func (f osFile) Size() int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (osSystem) Open(path string) (host.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osSystem) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

func (osSystem) LookupUser(string) (host.User, error)   { return host.User{}, errUnimplemented }
func (osSystem) LookupUserID(uint32) (host.User, error) { return host.User{}, errUnimplemented }
func (osSystem) LookupGroupID(uint32) (string, error)   { return "", errUnimplemented }
func (osSystem) LookupHost(context.Context, string) ([]string, error) {
	return nil, errUnimplemented
}
func (osSystem) Dial(context.Context, string, string) (net.Conn, error) {
	return nil, errUnimplemented
}

func (s osSystem) LookPath(name string) (string, error) {
	if s.lookPath != nil {
		return s.lookPath(name)
	}
	return exec.LookPath(name)
}

func (s osSystem) Run(ctx context.Context, name string, args ...string) (host.Output, error) {
	if s.run != nil {
		return s.run(ctx, name, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := host.Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		out.ExitCode = exit.ExitCode()
		return out, nil
	}
	return out, err
}

// memSystem serves files from memory (fuzzing, dumps, limits).
type memSystem struct {
	osSystem
	files map[string][]byte
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func (m memSystem) Open(path string) (host.File, error) {
	b, ok := m.files[path]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	return memFile{bytes.NewReader(b)}, nil
}

func (m memSystem) Lstat(path string) (host.FileInfo, error) {
	if _, ok := m.files[path]; !ok {
		return host.FileInfo{}, &os.PathError{Op: "lstat", Path: path, Err: os.ErrNotExist}
	}
	return host.FileInfo{Path: path}, nil
}

func (m memSystem) Glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for p := range m.files {
		if ok, _ := filepath.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	return out, nil
}
