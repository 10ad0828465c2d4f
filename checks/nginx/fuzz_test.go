package nginx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seedConfigs(f *testing.F) {
	for _, name := range []string{"debian/etc/nginx/nginx.conf", "debian/etc/nginx/sites-available/app", "debian/etc/nginx/sites-available/php",
		"rhel/etc/nginx/nginx.conf", "lua/nginx.conf", "broken/nginx.conf", "broken/sites/b-unbalanced", "selfcontained/nginx.conf"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "nginx", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("http { upstream u { server unix:/a.sock:; } server { location / { proxy_pass http://u; if ($x) { grpc_pass [::1; } } } }"))
	f.Add([]byte("include *; include [; events { worker_connections -1; }"))
}

func FuzzLoad(f *testing.F) {
	seedConfigs(f)
	f.Fuzz(func(t *testing.T, conf []byte) {
		sys := memSystem{files: map[string][]byte{"/etc/nginx/nginx.conf": conf}}
		c, err := Load(context.Background(), sys, "/etc/nginx/nginx.conf")
		if err != nil {
			return
		}
		for _, tg := range c.Targets() {
			_ = c.PassesFor(tg)
		}
	})
}

func FuzzLoadDump(f *testing.F) {
	dump, err := os.ReadFile(filepath.Join("..", "..", "testdata", "nginx", "dump", "nginx-T.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(dump)
	f.Add([]byte("# configuration file /a:\ninclude /b;\n# configuration file /b:\ninclude /a;\n"))
	f.Add([]byte("# configuration file /a:\ninclude /*;\n# configuration file /b:\nhttp { server { location / { proxy_pass http://x$y; } } }\n"))
	f.Fuzz(func(t *testing.T, dump []byte) {
		c, err := LoadDump(dump)
		if err != nil {
			return
		}
		c.Targets()
	})
}

// BenchmarkLoad reads a large generated tree: 1000 upstream servers in 100
// upstreams and 200 server blocks in 20 included files.
func BenchmarkLoad(b *testing.B) {
	files := map[string][]byte{}
	var main strings.Builder
	main.WriteString("user www-data;\nevents { worker_connections 1024; }\nhttp {\n proxy_read_timeout 30s;\n include /etc/nginx/conf.d/*.conf;\n include /etc/nginx/sites/*;\n}\n")
	files["/etc/nginx/nginx.conf"] = []byte(main.String())
	var ups strings.Builder
	for u := range 100 {
		fmt.Fprintf(&ups, "upstream u%d {\n", u)
		for s := range 10 {
			fmt.Fprintf(&ups, " server 10.%d.%d.1:%d max_fails=3 fail_timeout=5s;\n", u, s, 3000+s)
		}
		ups.WriteString(" keepalive 8;\n}\n")
	}
	files["/etc/nginx/conf.d/upstreams.conf"] = []byte(ups.String())
	for f := range 20 {
		var site strings.Builder
		for s := range 10 {
			n := f*10 + s
			fmt.Fprintf(&site, "server {\n listen 80;\n server_name s%d.example.com;\n proxy_connect_timeout 5s;\n", n)
			fmt.Fprintf(&site, " location / { proxy_set_header Host $host; proxy_pass http://u%d; }\n", n%100)
			fmt.Fprintf(&site, " location /api/ { proxy_read_timeout 90s; proxy_pass http://127.0.0.1:%d; location /api/x/ { proxy_pass http://127.0.0.1:%d; } }\n", 4000+n, 5000+n)
			fmt.Fprintf(&site, " location ~ \\.php$ { fastcgi_read_timeout 60s; fastcgi_pass unix:/run/php/s%d.sock; }\n}\n", n)
		}
		files[fmt.Sprintf("/etc/nginx/sites/site%02d", f)] = []byte(site.String())
	}
	sys := memSystem{files: files}
	b.ReportAllocs()
	for b.Loop() {
		c, err := Load(context.Background(), sys, "/etc/nginx/nginx.conf")
		if err != nil {
			b.Fatal(err)
		}
		if got := len(c.Targets()); got != 1600 {
			b.Fatalf("got %d targets, want 1600", got)
		}
	}
}

// braceDepth must agree with crossplane's lexer wherever it answers.
func FuzzBraceDepth(f *testing.F) {
	for _, s := range []string{
		"a { b { c; } }", `a "{" { b '}' { } }`, "a { # {\n b { } }", `a \{ { b { } }`,
		"a {{ }", "a { ; ; }", "} {", "a { b \"x\\\"{\" { } }", "a$ { }", "a { b\r{ } }",
		"http { server { location / { if ($x) { return 200; } } } }",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := braceDepth(context.Background(), data)
		if !ok {
			return
		}
		if want := lexDepth(context.Background(), data); got != want {
			t.Fatalf("braceDepth(%q) = %d, crossplane's tokens nest %d deep", data, got, want)
		}
	})
}
