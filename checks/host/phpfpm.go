package host

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FPM is one running php-fpm master and the pools its config defines.
type FPM struct {
	PID    int32  `json:"pid"`
	Binary string `json:"binary,omitempty"`
	// Config is the php-fpm.conf the master was started with (from its
	// process title "php-fpm: master process (PATH)").
	Config string `json:"config"`
	// ErrorLog is the global error_log, where php-fpm warns about its pools.
	ErrorLog string `json:"error_log,omitempty"`
	Pools    []Pool `json:"pools"`
	// Log holds php-fpm's own lines in the window about its pools
	// (max_children reached, busy, children killed), oldest first, at most 50.
	Log []FPMLine `json:"log,omitempty"`
	// Note says what could not be read.
	Note string `json:"note,omitempty"`
}

// Pool is one [pool] section of a php-fpm config.
type Pool struct {
	Name string `json:"name"`
	// File and Line are where the section starts.
	File string `json:"file"`
	Line int    `json:"line"`
	// Listen as written, $pool expanded: "/run/php/php8.2-fpm.sock",
	// "127.0.0.1:9000", "[::]:9000" or "9000" (every address).
	Listen        string `json:"listen"`
	ListenOwner   string `json:"listen_owner,omitempty"`
	ListenGroup   string `json:"listen_group,omitempty"`
	ListenMode    string `json:"listen_mode,omitempty"`
	ListenBacklog int    `json:"listen_backlog,omitempty"` // 0: php-fpm's default (511)
	// ListenBacklogLine is the line of listen.backlog in File (0 when unset).
	ListenBacklogLine int    `json:"listen_backlog_line,omitempty"`
	User              string `json:"user,omitempty"`
	Group             string `json:"group,omitempty"`
	PM                string `json:"pm,omitempty"` // static, dynamic, ondemand
	MaxChildren       int    `json:"max_children,omitempty"`
	// MaxChildrenLine is the line of pm.max_children in File (0 when unset).
	MaxChildrenLine int `json:"max_children_line,omitempty"`
	// MaxChildrenReached counts php-fpm's "server reached pm.max_children"
	// warnings for this pool in the window.
	MaxChildrenReached int `json:"max_children_reached,omitempty"`
}

// FPMLine is one line of php-fpm's log.
type FPMLine struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Pool  string    `json:"pool,omitempty"`
	Text  string    `json:"text"`
}

// Unix reports whether the pool listens on a unix socket.
func (p Pool) Unix() bool { return strings.HasPrefix(p.Listen, "/") }

// Serves reports whether the pool listens where a target points: a socket
// path, or a TCP host and port (a bare port or a wildcard takes any
// address of its family).
func (p Pool) Serves(network, path, ip string, port int) bool {
	if network == "unix" {
		return p.Unix() && filepath.Clean(p.Listen) == filepath.Clean(path)
	}
	if p.Unix() {
		return false
	}
	h, ps, err := net.SplitHostPort(p.Listen)
	if err != nil {
		h, ps = "", p.Listen
	}
	n, err := strconv.Atoi(ps)
	if err != nil || n != port {
		return false
	}
	return h == "" || h == "0.0.0.0" || h == "::" || h == ip || (h == "localhost" && (ip == "127.0.0.1" || ip == "::1"))
}

// PoolFor finds the pool of any master that listens where a target points.
func PoolFor(fpms []FPM, network, path, ip string, port int) (FPM, Pool, bool) {
	for _, f := range fpms {
		for _, p := range f.Pools {
			if p.Serves(network, path, ip, port) {
				return f, p, true
			}
		}
	}
	return FPM{}, Pool{}, false
}

// maxConfigBytes bounds one php-fpm config file; real ones are a few KiB.
const maxConfigBytes = 1 << 20

// fpmLogTail is how much of the end of php-fpm's log is read.
const fpmLogTail = 1 << 20

var masterTitle = regexp.MustCompile(`^php-fpm[0-9.]*: master process \((.+)\)\s*$`)

// ReadPHPFPM finds every running php-fpm master in procs, reads the config
// it was started with (includes followed), and the lines of its log since
// since. What cannot be read is a Note; it never fails.
func ReadPHPFPM(ctx context.Context, sys System, procs []Process, since time.Time) []FPM {
	var out []FPM
	for _, p := range procs {
		title := strings.TrimSpace(strings.Join(p.Cmdline, " "))
		m := masterTitle.FindStringSubmatch(title)
		if m == nil || ctx.Err() != nil {
			continue
		}
		f := FPM{PID: p.PID, Binary: p.Exe, Config: m[1]}
		global, pools, err := readFPMConfig(sys, f.Config)
		if err != nil {
			f.Note = err.Error()
		}
		f.Pools = pools
		f.ErrorLog = global["error_log"]
		if f.ErrorLog == "" {
			f.ErrorLog = "/usr/var/log/php-fpm.log" // the compiled default, prefix /usr
		}
		if f.ErrorLog != "syslog" {
			lines, err := readFPMLog(sys, f.ErrorLog, since)
			if err != nil {
				f.Note = strings.TrimPrefix(f.Note+"; "+err.Error(), "; ")
			}
			f.Log = lines
			for i := range f.Pools {
				for _, l := range lines {
					if l.Pool == f.Pools[i].Name && strings.Contains(l.Text, "max_children") {
						f.Pools[i].MaxChildrenReached++
					}
				}
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// readFPMConfig reads a php-fpm.conf and the files its include lines name.
func readFPMConfig(sys System, path string) (map[string]string, []Pool, error) {
	text, err := readConfigFile(sys, path, maxConfigBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("php-fpm config %s: %w", path, err)
	}
	global, pools := ParsePHPFPM(path, text)
	var problems []string
	if inc := global["include"]; inc != "" {
		if !filepath.IsAbs(inc) {
			// php-fpm takes it from its prefix (-p, compiled /usr), not
			// from the file's directory; the title does not show -p.
			inc = filepath.Join("/usr", inc)
		}
		files, err := sys.Glob(inc)
		if err != nil {
			problems = append(problems, fmt.Sprintf("include %s: %v", inc, err))
		}
		sort.Strings(files)
		for _, f := range files {
			t, err := readConfigFile(sys, f, maxConfigBytes)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", f, err))
				continue
			}
			g, ps := ParsePHPFPM(f, t)
			for k, v := range g {
				if _, ok := global[k]; !ok {
					global[k] = v
				}
			}
			pools = append(pools, ps...)
		}
	}
	if len(problems) > 0 {
		return global, pools, fmt.Errorf("php-fpm config: %s", strings.Join(problems, "; "))
	}
	return global, pools, nil
}

// ParsePHPFPM parses one php-fpm config file: the [global] settings (and
// any before the first section), and each pool with the settings that
// matter to nginx. Unknown lines are ignored, as a person skimming it would.
func ParsePHPFPM(file, text string) (map[string]string, []Pool) {
	global := map[string]string{}
	var pools []Pool
	var cur *Pool
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			name, _, ok := strings.Cut(line[1:], "]")
			name = strings.TrimSpace(name)
			switch {
			case !ok || name == "":
				cur = nil
			case strings.EqualFold(name, "global"):
				cur = nil
			default:
				pools = append(pools, Pool{Name: name, File: file, Line: i + 1})
				cur = &pools[len(pools)-1]
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), iniValue(v)
		if cur == nil {
			global[k] = v
			continue
		}
		v = strings.ReplaceAll(strings.ReplaceAll(v, "${pool}", cur.Name), "$pool", cur.Name)
		switch k {
		case "listen":
			cur.Listen = v
		case "listen.owner":
			cur.ListenOwner = v
		case "listen.group":
			cur.ListenGroup = v
		case "listen.mode":
			cur.ListenMode = v
		case "listen.backlog":
			cur.ListenBacklog, _ = strconv.Atoi(v)
			cur.ListenBacklogLine = i + 1
		case "user":
			cur.User = v
		case "group":
			cur.Group = v
		case "pm":
			cur.PM = v
		case "pm.max_children":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				cur.MaxChildren, cur.MaxChildrenLine = n, i+1
			}
		}
	}
	return global, pools
}

// iniValue drops a trailing comment and the quotes around a value.
func iniValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : end+1]
		}
	}
	if i := strings.Index(v, " ;"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

var fpmLineRe = regexp.MustCompile(`^\[(\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2})(?:\.\d+)?\] ([A-Z]+): (?:\[pool ([^\]]+)\] )?(.*)$`)

// readFPMLog keeps the lines of php-fpm's log since since that say
// something about a pool (warnings and errors; notices of a child's death).
func readFPMLog(sys System, path string, since time.Time) ([]FPMLine, error) {
	f, err := sys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("php-fpm log %s: %w", path, err)
	}
	defer f.Close()
	size := f.Size()
	start := max(0, size-fpmLogTail)
	sc := bufio.NewScanner(io.NewSectionReader(f, start, size-start))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	now := sys.Now()
	var out []FPMLine
	first := start > 0
	for sc.Scan() {
		if first { // a partial line where the tail begins
			first = false
			continue
		}
		m := fpmLineRe.FindStringSubmatch(sc.Text())
		if m == nil || (m[2] == "NOTICE" && !strings.Contains(m[4], "exited")) || (m[3] == "" && m[2] == "NOTICE") {
			continue
		}
		t, err := time.ParseInLocation("02-Jan-2006 15:04:05", m[1], sys.Location())
		if err != nil || t.Before(since) || t.After(now.Add(time.Minute)) {
			continue
		}
		out = append(out, FPMLine{Time: t, Level: m[2], Pool: m[3], Text: sc.Text()})
	}
	if len(out) > 50 {
		out = out[len(out)-50:]
	}
	return out, nil
}

// readConfigFile reads a whole file of at most limit bytes.
func readConfigFile(sys System, path string, limit int64) (string, error) {
	f, err := sys.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if f.Size() > limit {
		return "", fmt.Errorf("%s is %d bytes, more than a config file should be", path, f.Size())
	}
	b := make([]byte, f.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return "", err
	}
	return string(b[:n]), nil
}
