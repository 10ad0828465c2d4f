package logs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func accessLine(t time.Time, status int) string {
	return fmt.Sprintf("127.0.0.1 - - [%s] \"GET /x HTTP/1.1\" %d 157 \"-\" \"curl/7.88.1\"\n", t.Format("02/Jan/2006:15:04:05 -0700"), status)
}

func TestReadAccessLogWindow(t *testing.T) {
	var b strings.Builder
	statuses := []int{200, 502, 200, 504, 503, 404, 200, 500}
	want := AccessLog{Status: map[int]int{}}
	since := base.Add(100 * time.Minute)
	for s := 0; s < 2*3600; s++ {
		ts := base.Add(time.Duration(s) * time.Second)
		code := statuses[s%len(statuses)]
		b.WriteString(accessLine(ts, code))
		if !ts.Before(since) {
			want.LinesRead++
			want.Requests++
			if code >= 500 {
				want.Status[code]++
			}
		}
	}
	path := writeLog(t, b.String())
	got, err := ReadAccessLog(context.Background(), disk, path, since)
	if err != nil {
		t.Fatal(err)
	}
	if got.LinesRead != want.LinesRead || got.Requests != want.Requests || fmt.Sprint(got.Status) != fmt.Sprint(want.Status) {
		t.Errorf("got %d lines, %d requests, %v; want %d, %d, %v", got.LinesRead, got.Requests, got.Status, want.LinesRead, want.Requests, want.Status)
	}
	if got.BytesRead > int64(b.Len()/2) {
		t.Errorf("got %d bytes read of %d, want the window only", got.BytesRead, b.Len())
	}
}

func TestReadAccessLogFormats(t *testing.T) {
	ts := base.Add(time.Hour)
	tests := []struct {
		name     string
		line     string
		requests int
		unparsed int
		status   map[int]int
	}{
		{"combined", `203.0.113.5 - alice [24/Nov/2026:04:00:00 +0000] "GET / HTTP/1.1" 502 157 "-" "curl/7.88.1"`, 1, 0, map[int]int{502: 1}},
		{"zone offset", `::1 - - [24/Nov/2026:05:00:00 +0100] "GET / HTTP/1.1" 504 0 "-" "-"`, 1, 0, map[int]int{504: 1}},
		{"custom with upstream fields", `[24/Nov/2026:04:00:01 +0000] 10.0.0.1 "POST /api HTTP/2.0" rt=3.001 uct="0.000" 503 us="503" ua="127.0.0.1:3000"`, 1, 0, map[int]int{503: 1}},
		{"request with a 3-digit path", `1.2.3.4 - - [24/Nov/2026:04:00:02 +0000] "GET /404 HTTP/1.1" 200 12 "-" "-"`, 1, 0, map[int]int{}},
		{"no request quote", `[24/Nov/2026:04:00:03 +0000] 500 GET`, 1, 0, map[int]int{500: 1}},
		{"no status", `1.2.3.4 - - [24/Nov/2026:04:00:04 +0000] "GET / HTTP/1.1" - -`, 0, 1, map[int]int{}},
		{"garbage", "\x00\xffnot a log line", 0, 1, map[int]int{}},
		{"older", `1.2.3.4 - - [24/Nov/2026:03:59:59 +0000] "GET / HTTP/1.1" 502 0 "-" "-"`, 0, 0, map[int]int{}},
		{"older by its zone", `1.2.3.4 - - [24/Nov/2026:04:30:00 +0100] "GET / HTTP/1.1" 502 0 "-" "-"`, 0, 0, map[int]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A dated line first so that garbage falls in the window.
			content := accessLine(ts, 200) + tt.line + "\n"
			got, err := ReadAccessLog(context.Background(), disk, writeLog(t, content), ts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Requests-1 != tt.requests || got.Unparsed != tt.unparsed || fmt.Sprint(got.Status) != fmt.Sprint(tt.status) {
				t.Errorf("got %d requests, %d unparsed, %v; want %d, %d, %v", got.Requests-1, got.Unparsed, got.Status, tt.requests, tt.unparsed, tt.status)
			}
		})
	}
}

func TestReadAccessLogEdges(t *testing.T) {
	for _, content := range []string{"", "no dates here\n", strings.Repeat("\x00", 70000)} {
		got, err := ReadAccessLog(context.Background(), disk, writeLog(t, content), base)
		if err != nil {
			t.Fatal(err)
		}
		if got.LinesRead != 0 || got.Requests != 0 || got.Status == nil {
			t.Errorf("%.20q: got %d lines, %d requests, status %v; want none and an empty map", content, got.LinesRead, got.Requests, got.Status)
		}
	}
}
