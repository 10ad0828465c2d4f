package fixes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// BenchmarkAdviceBigConfig is the advice planned on every check (debug
// logging, monitoring) for a config of 20,000 server blocks in its main
// file: it costs what the plan itself costs, not another parse of the
// 3.5 MiB file, which it did before the load kept the http block's
// include lines (393 ms and 125 MB per plan then, 0.9 ms and 23 kB now).
func BenchmarkAdviceBigConfig(b *testing.B) {
	dir := b.TempDir()
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	var conf strings.Builder
	fmt.Fprintf(&conf, "events {}\nhttp {\n include %s/conf.d/*.conf;\n upstream app { server 127.0.0.1:3000; }\n", dir)
	for i := range 20000 {
		fmt.Fprintf(&conf, " server {\n  listen 127.0.0.1:8080;\n  server_name site%d.example;\n  location / { proxy_pass http://app; }\n }\n", i)
	}
	conf.WriteString("}\n")
	main := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := nginx.Load(context.Background(), host.Live(), main)
	if err != nil {
		b.Fatal(err)
	}
	o := &checks.Outcome{Snapshot: &checks.Snapshot{Sys: host.Live(), Config: cfg, Targets: cfg.Targets()}}
	e := testEngine(b)
	e.Self = ""
	for b.Loop() {
		if fs := e.Advice(o); len(fs) == 0 {
			b.Fatal("no advice")
		}
	}
}
