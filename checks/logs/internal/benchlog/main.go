// Command benchlog generates synthetic error logs and reads them with
// logs.ReadErrorLog, for scripts/bench.sh.
//
//	benchlog gen SIZE_MB PATH
//	benchlog read 15m|all PATH
package main

import (
	"context"
	"errors"
	"fmt"
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
		got, err := logs.ReadErrorLog(context.Background(), host.InZone(host.Live(), time.UTC), args[2], since)
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
