package logs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs/internal/loggen"
)

func benchLog(b *testing.B, size int64) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "error.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := loggen.Write(f, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

var benchSizes = []struct {
	name string
	size int64
}{
	{"10MB", 10 << 20},
	{"256MB", 256 << 20},
}

// The window read must cost about the same on both: the same 15 minutes.
func BenchmarkReadErrorLogWindow(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			path := benchLog(b, s.size)
			since := loggen.End.Add(-loggen.Busy)
			var got ErrorLog
			for b.Loop() {
				var err error
				if got, err = ReadErrorLog(context.Background(), disk, path, since); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(got.BytesRead)/(1<<20), "MB-read/op")
			b.ReportMetric(float64(got.LinesRead), "lines/op")
		})
	}
}

func BenchmarkReadErrorLogAll(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			path := benchLog(b, s.size)
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(fi.Size())
			var got ErrorLog
			for b.Loop() {
				if got, err = ReadErrorLog(context.Background(), disk, path, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(got.LinesRead), "lines/op")
		})
	}
}

func BenchmarkParseErrorLine(b *testing.B) {
	l := []byte(`2026/11/24 05:13:28 [error] 812#812: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /down HTTP/1.1", upstream: "http://127.0.0.1:3999/", host: "127.0.0.1:8080"`)
	c := stampCache{loc: locOrLocal(nil)}
	var p line
	b.SetBytes(int64(len(l)))
	for b.Loop() {
		parseLine(l, &c, &p)
	}
}
