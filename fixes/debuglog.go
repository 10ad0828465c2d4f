package fixes

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// debugLogName is the file the debug-logging advice adds to the include directory.
const debugLogName = "ngxdoctor-upstream.conf"

// advice plans the fixes that are not cures: upstream logging and
// stub_status (step 8), monitoring (step 10).
func (e *Engine) advice(o *checks.Outcome) []plan {
	var out []plan
	for _, build := range []func(*Engine, *checks.Outcome) []plan{planDebugLog, planMonitor} {
		for _, p := range build(e, o) {
			p.Cause = "advice"
			p.advice = true
			p.finish(o)
			out = append(out, p)
		}
	}
	return out
}

// planDebugLog adds, in a new file under the include directory of the http
// block, a log_format with the upstream's address, status and times, an
// access_log using it, and stub_status on loopback. Nothing existing is
// edited, so undo is deleting the file.
func planDebugLog(e *Engine, o *checks.Outcome) []plan {
	if o == nil || o.Snapshot == nil || o.Snapshot.Config == nil {
		return nil
	}
	cfg := o.Snapshot.Config
	for _, d := range cfg.LogFormats {
		if strings.Contains(strings.Join(d.Args, " "), "$upstream_addr") {
			return nil
		}
	}
	src := filesOf(o)
	dir, ok := httpIncludeDir(src, cfg)
	if !ok {
		return nil
	}
	path := filepath.Join(dir, debugLogName)
	if src.exists(path) {
		return nil
	}
	logDir := "/var/log/nginx"
	for _, l := range cfg.AccessLogs {
		if filepath.IsAbs(l.Path) && !strings.HasPrefix(l.Path, "/dev/") {
			logDir = filepath.Dir(l.Path)
			break
		}
	}
	var b strings.Builder
	// No date in the text: the previewed diff must equal the applied one.
	b.WriteString("# Added by ngxdoctor: upstream logging for diagnosing 502/504.\n")
	b.WriteString("# Undo: ngxdoctor undo (or delete this file and reload nginx).\n")
	b.WriteString("log_format ngxdoctor_upstream '$remote_addr [$time_local] \"$request\" $status '\n")
	b.WriteString("    'upstream=$upstream_addr upstream_status=$upstream_status '\n")
	b.WriteString("    'request_time=$request_time upstream_connect_time=$upstream_connect_time '\n")
	b.WriteString("    'upstream_header_time=$upstream_header_time upstream_response_time=$upstream_response_time';\n")
	logFile := filepath.Join(logDir, "ngxdoctor-upstream.log")
	fmt.Fprintf(&b, "access_log %s ngxdoctor_upstream;\n", logFile)
	check := ""
	if len(cfg.StubStatus) == 0 {
		port := freeLoopbackPort(o)
		if port > 0 {
			b.WriteString("\n# Connection counters for a quick look: curl http://127.0.0.1:" + strconv.Itoa(port) + "/nginx_status\n")
			b.WriteString("server {\n")
			fmt.Fprintf(&b, "    listen 127.0.0.1:%d;\n", port)
			b.WriteString("    access_log off;\n")
			b.WriteString("    location = /nginx_status {\n        stub_status;\n        allow 127.0.0.1;\n        deny all;\n    }\n}\n")
			check = fmt.Sprintf("http://127.0.0.1:%d/nginx_status", port)
		}
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID("advice", "nginx", "debug-log"),
			Title: "Log each request's upstream address, status and times (and stub_status on loopback)",
			Undo:  "ngxdoctor undo deletes " + path + " and reloads nginx",
			Warning: "Applies to servers without an access_log of their own (a server or location that sets " +
				"access_log replaces the http-level one); the log grows with traffic: rotate it with the others",
		},
		edits: []Edit{{Path: path, Create: true, New: b.String()}}, nginxEdits: true, revertible: true,
		checkURL: check, checkFile: logFile,
	}}
}

// httpIncludeDir finds an include glob inside the http block of the main
// config (conf.d/*.conf on Debian; modules-enabled is at main level and
// must not receive http directives). The include lines come from the load
// (Config.HTTPIncludes), not from parsing the main file again: on a config
// of 50,000 server blocks that second parse cost as much as the load.
func httpIncludeDir(src files, cfg *nginx.Config) (string, bool) {
	for _, d := range cfg.HTTPIncludes {
		if len(d.Args) != 1 {
			continue
		}
		g := d.Args[0]
		if !filepath.IsAbs(g) {
			g = filepath.Join(filepath.Dir(cfg.Main), g)
		}
		dir := filepath.Dir(g)
		if ok, _ := filepath.Match(g, filepath.Join(dir, debugLogName)); !ok {
			continue
		}
		if fi, err := src.lstat(dir); err == nil && fi.Mode.IsDir() {
			return dir, true
		}
	}
	return "", false
}

// freeLoopbackPort picks a port for stub_status that nothing listens on,
// from the snapshot's listeners and the config's listen lines only:
// planning runs on every check and must not connect anywhere (a reload onto
// a port taken since fails and is rolled back).
func freeLoopbackPort(o *checks.Outcome) int {
	used := map[int]bool{}
	for _, l := range o.Snapshot.Listeners {
		used[l.Port] = true
	}
	for _, s := range o.Snapshot.Config.Servers {
		for _, l := range s.Listen {
			if _, p, err := net.SplitHostPort(l); err == nil {
				n, _ := strconv.Atoi(p)
				used[n] = true
			} else if n, err := strconv.Atoi(l); err == nil {
				used[n] = true
			}
		}
	}
	for p := 8089; p < 8189; p++ {
		if !used[p] {
			return p
		}
	}
	return 0
}
