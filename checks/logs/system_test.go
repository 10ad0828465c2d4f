package logs

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

var errNotHere = errors.New("not available in this test system")

// fileSystem is a host.System that only opens files, from the real disk.
type fileSystem struct{ loc *time.Location }

type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

func (s fileSystem) Open(path string) (host.File, error) {
	f, err := os.Open(path)
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
		return nil, errors.New("not a regular file")
	}
	return osFile{f, fi.Size()}, nil
}

func (s fileSystem) Now() time.Time { return time.Now() }
func (s fileSystem) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}
func (fileSystem) Euid() int                                         { return -1 }
func (fileSystem) Processes(context.Context) ([]host.Process, error) { return nil, errNotHere }
func (fileSystem) Listeners(context.Context) ([]host.Listener, error) {
	return nil, errNotHere
}
func (fileSystem) Lstat(string) (host.FileInfo, error)    { return host.FileInfo{}, errNotHere }
func (fileSystem) Glob(string) ([]string, error)          { return nil, errNotHere }
func (fileSystem) LookupUser(string) (host.User, error)   { return host.User{}, errNotHere }
func (fileSystem) LookupUserID(uint32) (host.User, error) { return host.User{}, errNotHere }
func (fileSystem) LookupGroupID(uint32) (string, error)   { return "", errNotHere }
func (fileSystem) LookPath(string) (string, error)        { return "", errNotHere }
func (fileSystem) Run(context.Context, string, ...string) (host.Output, error) {
	return host.Output{}, errNotHere
}
func (fileSystem) LookupHost(context.Context, string) ([]string, error) { return nil, errNotHere }
func (fileSystem) Dial(context.Context, string, string) (net.Conn, error) {
	return nil, errNotHere
}

// memSystem serves one file from memory, so fuzzing does not wait on a disk.
type memSystem struct {
	fileSystem
	data []byte
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func (s memSystem) Open(string) (host.File, error) { return memFile{bytes.NewReader(s.data)}, nil }
