// Command benchlog generates synthetic error logs and reads them with
// logs.ReadErrorLog, for scripts/bench-logs.sh.
//
//	benchlog gen SIZE_MB PATH
//	benchlog read 15m|all PATH
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/logs/internal/loggen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchlog:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: benchlog gen SIZE_MB PATH | benchlog read 15m|all PATH")
	}
	switch args[0] {
	case "gen":
		mb, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("size: %w", err)
		}
		f, err := os.Create(args[2])
		if err != nil {
			return err
		}
		if err := loggen.Write(f, mb<<20); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case "read":
		var since time.Time
		if args[1] != "all" {
			d, err := time.ParseDuration(args[1])
			if err != nil {
				return fmt.Errorf("since: %w", err)
			}
			since = loggen.End.Add(-d)
		}
		if p := os.Getenv("BENCHLOG_CPUPROFILE"); p != "" {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		start := time.Now()
		got, err := logs.ReadErrorLog(context.Background(), fileSystem{}, args[2], since)
		if err != nil {
			return err
		}
		elapsed := time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("seconds=%.3f lines=%d entries=%d dropped=%d bytes_read=%d heap_sys_mib=%d\n",
			elapsed.Seconds(), got.LinesRead, len(got.Entries), got.Dropped, got.BytesRead, ms.HeapSys>>20)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

var errNo = errors.New("not available in benchlog")

// fileSystem is the smallest host.System that reads files from disk.
type fileSystem struct{}

type file struct {
	*os.File
	size int64
}

func (f file) Size() int64 { return f.size }

func (fileSystem) Open(path string) (host.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return file{f, fi.Size()}, nil
}

func (fileSystem) Now() time.Time                                       { return time.Now() }
func (fileSystem) Location() *time.Location                             { return time.UTC }
func (fileSystem) Euid() int                                            { return os.Geteuid() }
func (fileSystem) Processes(context.Context) ([]host.Process, error)    { return nil, errNo }
func (fileSystem) Listeners(context.Context) ([]host.Listener, error)   { return nil, errNo }
func (fileSystem) Lstat(string) (host.FileInfo, error)                  { return host.FileInfo{}, errNo }
func (fileSystem) Glob(string) ([]string, error)                        { return nil, errNo }
func (fileSystem) LookupUser(string) (host.User, error)                 { return host.User{}, errNo }
func (fileSystem) LookupUserID(uint32) (host.User, error)               { return host.User{}, errNo }
func (fileSystem) LookupGroupID(uint32) (string, error)                 { return "", errNo }
func (fileSystem) LookPath(string) (string, error)                      { return "", errNo }
func (fileSystem) LookupHost(context.Context, string) ([]string, error) { return nil, errNo }
func (fileSystem) Run(context.Context, string, ...string) (host.Output, error) {
	return host.Output{}, errNo
}
func (fileSystem) Dial(context.Context, string, string) (net.Conn, error) { return nil, errNo }
