package nginx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// bigConfig is a shared-hosting config: servers virtual hosts, each with
// locs locations passing to the one upstream "app" of three servers.
func bigConfig(servers, locs int) []byte {
	var b strings.Builder
	b.WriteString("events {}\nhttp {\n upstream app { server 127.0.0.1:3000; server 127.0.0.1:3001; server 127.0.0.1:3002; }\n")
	for i := range servers {
		fmt.Fprintf(&b, " server {\n  listen 127.0.0.1:8080;\n  server_name site%d.example;\n", i)
		for k := range locs {
			fmt.Fprintf(&b, "  location /l%d/ { proxy_pass http://app; }\n", k)
		}
		b.WriteString(" }\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// Every backend lists each pass and each reference once, however many
// locations lead to it.
func TestTargetsOfManyPasses(t *testing.T) {
	c, err := Load(context.Background(), memSystem{files: map[string][]byte{"/n.conf": bigConfig(300, 5)}}, "/n.conf")
	if err != nil {
		t.Fatal(err)
	}
	ts := c.Targets()
	if len(ts) != 3 {
		t.Fatalf("got %d targets, want the upstream's 3", len(ts))
	}
	for _, tg := range ts {
		if len(tg.Passes) != 1500 || len(tg.ReferencedAt) != 1501 {
			t.Errorf("%s: got %d passes and %d references, want 1500 and 1501 (its server line and every pass)", tg.Address, len(tg.Passes), len(tg.ReferencedAt))
		}
	}
}

// cancelAfter cancels its context on the nth file read: within the parse.
type cancelSystem struct {
	memSystem
	cancel context.CancelFunc
}

func (s cancelSystem) Glob(p string) ([]string, error) {
	s.cancel()
	return s.memSystem.Glob(p)
}

// A run cancelled while the config is parsed stops with an error that
// says so, not with half a config.
func TestLoadCancelledWhileParsing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	main := append([]byte("include /none/*.conf;\n"), bigConfig(2000, 3)...)
	sys := cancelSystem{memSystem: memSystem{files: map[string][]byte{"/n.conf": main}}, cancel: cancel}
	c, err := Load(ctx, sys, "/n.conf")
	if c != nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("got %v, %v; want no config and an error saying the read stopped", c != nil, err)
	}
}

func BenchmarkLoadServers(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			sys := memSystem{files: map[string][]byte{"/n.conf": bigConfig(n, 2)}}
			b.SetBytes(int64(len(sys.files["/n.conf"])))
			b.ReportAllocs()
			for b.Loop() {
				c, err := Load(context.Background(), sys, "/n.conf")
				if err != nil {
					b.Fatal(err)
				}
				_ = c.Targets()
			}
		})
	}
}

// A line reached twice (a snippet included by two servers, an address an
// upstream lists twice) is listed once per target.
func TestTargetsListLinesOnce(t *testing.T) {
	files := map[string][]byte{
		"/n.conf":   []byte("events {}\nhttp {\n upstream app { server 127.0.0.1:3000; server 127.0.0.1:3000; }\n server { listen 80; include /loc.conf; }\n server { listen 81; include /loc.conf; }\n}\n"),
		"/loc.conf": []byte("location / { proxy_pass http://app; }\n"),
	}
	c, err := Load(context.Background(), memSystem{files: files}, "/n.conf")
	if err != nil {
		t.Fatal(err)
	}
	ts := c.Targets()
	if len(ts) != 1 {
		t.Fatalf("got %d targets, want 1", len(ts))
	}
	var got []string
	for _, p := range ts[0].ReferencedAt {
		got = append(got, p.String())
	}
	want := []string{"/n.conf:3", "/loc.conf:1"}
	if strings.Join(got, " ") != strings.Join(want, " ") || len(ts[0].Passes) != 2 {
		t.Errorf("got references %v and passes %v, want %v and 2 passes", got, ts[0].Passes, want)
	}
}

// The include lines written in the main file's http block are kept as
// written, in order; a main-level include (modules) and one inside a
// server are not among them.
func TestHTTPIncludes(t *testing.T) {
	files := map[string][]byte{
		"/n.conf":        []byte("include /mods/*.conf;\nevents {}\nhttp {\n include mime.types;\n server { listen 80; include /snip.conf; }\n include /conf.d/*.conf;\n}\n"),
		"/mime.types":    []byte("types { text/html html; }\n"),
		"/snip.conf":     []byte("location / { return 200; }\n"),
		"/conf.d/a.conf": []byte("server { listen 81; }\n"),
	}
	c, err := Load(context.Background(), memSystem{files: files}, "/n.conf")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range c.HTTPIncludes {
		got = append(got, fmt.Sprintf("%s %s at %s", d.Name, strings.Join(d.Args, " "), d.At))
	}
	want := []string{"include mime.types at /n.conf:4", "include /conf.d/*.conf at /n.conf:6"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("got %q, want %q", got, want)
	}
}
