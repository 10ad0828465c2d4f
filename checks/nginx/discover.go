package nginx

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// DefaultConfig is where distribution packages put the main config.
const DefaultConfig = "/etc/nginx/nginx.conf"

// commandTimeout bounds `nginx -V` and `nginx -t` when the caller gave no
// deadline; both answer in milliseconds unless something is badly wrong.
const commandTimeout = 15 * time.Second

// Discover finds nginx: the running master (its -c and executable), else
// what `nginx -V` was compiled with, else DefaultConfig. The flags, when
// set, win over everything found.
func Discover(ctx context.Context, sys host.System, configFlag, binaryFlag string) (Install, error) {
	var in Install
	procs, _ := sys.Processes(ctx) // without a process table, discovery falls back to nginx -V
	master, workers := findMaster(procs, configFlag)
	var masterConf, masterPrefix string
	if master != nil {
		in.Running = true
		in.MasterPID = master.PID
		masterConf, masterPrefix = masterArgs(master.Cmdline)
		for _, w := range workers {
			in.WorkerPIDs = append(in.WorkerPIDs, w.PID)
			if in.WorkerUser == "" && w.User != "" {
				in.WorkerUser = w.User
			}
		}
	}

	in.Binary = binaryFlag
	if in.Binary == "" && master != nil {
		in.Binary = strings.TrimSuffix(master.Exe, " (deleted)")
		if in.Binary == "" {
			in.Binary = masterBinary(master.Cmdline)
		}
	}
	if in.Binary == "" {
		if p, err := sys.LookPath("nginx"); err == nil {
			in.Binary = p
		}
	}

	var compiledConf string
	if in.Binary != "" {
		if v, err := compiled(ctx, sys, in.Binary); err == nil {
			in.Version = v.version
			in.Prefix = v.prefix
			in.ErrorLogDefault = v.errorLog
			compiledConf = v.confPath
		}
	}
	if masterPrefix != "" {
		in.Prefix = masterPrefix
	}

	switch {
	case configFlag != "":
		in.Config, in.ConfigFrom = configFlag, "flag"
	case masterConf != "":
		in.Config, in.ConfigFrom = masterConf, "master -c"
	case compiledConf != "":
		in.Config, in.ConfigFrom = compiledConf, "nginx -V"
	default:
		if _, err := sys.Lstat(DefaultConfig); err != nil && in.Binary == "" && master == nil {
			return in, fmt.Errorf("nginx not found: no running nginx master process, no nginx binary on PATH and no %s; pass --config PATH (and --nginx PATH for the binary)", DefaultConfig)
		}
		in.Config, in.ConfigFrom = DefaultConfig, "default"
	}
	// nginx reads a relative -c or --conf-path against its prefix.
	if !filepath.IsAbs(in.Config) && in.ConfigFrom != "flag" && in.Prefix != "" {
		in.Config = filepath.Join(in.Prefix, in.Config)
	}
	if isFilePath(in.ErrorLogDefault) && !filepath.IsAbs(in.ErrorLogDefault) && in.Prefix != "" {
		in.ErrorLogDefault = filepath.Join(in.Prefix, in.ErrorLogDefault)
	}

	if in.WorkerUser == "" {
		in.WorkerUser = "nobody"
		if c, err := loadMain(ctx, sys, in.Config); err == nil && c.User != "" {
			in.WorkerUser = c.User
		}
	}
	return in, nil
}

// isFilePath tells a log file from nginx's other log destinations.
func isFilePath(dest string) bool {
	return dest != "" && dest != "stderr" && !strings.HasPrefix(dest, "syslog:") && !strings.HasPrefix(dest, "memory:")
}

// loadMain reads only the main file: the user directive lives there.
func loadMain(ctx context.Context, sys host.System, path string) (*Config, error) {
	src := newSource(ctx, path)
	src.read = func(p string) ([]byte, error) { return readFile(sys, p, MaxConfigBytes) }
	src.glob = sys.Glob
	return load(src, path, true)
}

func cmdline(p *host.Process) string {
	return strings.Join(p.Cmdline, " ")
}

// findMaster picks the master process: the one whose -c is the config
// flag when several run, else the oldest (lowest pid).
func findMaster(procs []host.Process, configFlag string) (*host.Process, []host.Process) {
	var masters []*host.Process
	for i := range procs {
		if strings.Contains(cmdline(&procs[i]), "master process") && (procs[i].Name == "nginx" || strings.HasPrefix(cmdline(&procs[i]), "nginx:")) {
			masters = append(masters, &procs[i])
		}
	}
	if len(masters) == 0 {
		return nil, nil
	}
	slices.SortFunc(masters, func(a, b *host.Process) int { return int(a.PID) - int(b.PID) })
	master := masters[0]
	if configFlag != "" {
		for _, m := range masters {
			if c, _ := masterArgs(m.Cmdline); c == configFlag {
				master = m
				break
			}
		}
	}
	var workers []host.Process
	for _, p := range procs {
		if p.PPID == master.PID && strings.Contains(cmdline(&p), "worker process") {
			workers = append(workers, p)
		}
	}
	return master, workers
}

// masterArgs reads -c and -p from a master's title, which nginx rewrote to
// "nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf".
func masterArgs(argv []string) (conf, prefix string) {
	f := strings.Fields(strings.Join(argv, " "))
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == "-c" && i+1 < len(f):
			conf = f[i+1]
			i++
		case strings.HasPrefix(f[i], "-c") && len(f[i]) > 2 && f[i][2] == '/':
			conf = f[i][2:]
		case f[i] == "-p" && i+1 < len(f):
			prefix = f[i+1]
			i++
		}
	}
	return conf, prefix
}

// masterBinary is the path after "master process" when it is absolute.
func masterBinary(argv []string) string {
	f := strings.Fields(strings.Join(argv, " "))
	for i := 0; i+2 < len(f); i++ {
		if f[i] == "master" && f[i+1] == "process" && filepath.IsAbs(f[i+2]) {
			return f[i+2]
		}
	}
	return ""
}

type buildInfo struct {
	version, prefix, confPath, errorLog string
}

// compiled runs `nginx -V` and reads the version and compiled-in paths.
func compiled(ctx context.Context, sys host.System, binary string) (buildInfo, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	out, err := sys.Run(ctx, binary, "-V")
	if err != nil {
		return buildInfo{}, fmt.Errorf("run %s -V: %w", binary, err)
	}
	text := string(out.Stderr) + "\n" + string(out.Stdout)
	b := buildInfo{version: ParseVersion(text)}
	for _, f := range strings.Fields(text) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "--prefix":
			b.prefix = v
		case "--conf-path":
			b.confPath = v
		case "--error-log-path":
			b.errorLog = v
		}
	}
	if b.version == "" && b.confPath == "" {
		return b, errors.New("no version or --conf-path in nginx -V output")
	}
	return b, nil
}

// ParseVersion reads "1.22.1" from `nginx -v`/`nginx -V` output
// ("nginx version: nginx/1.22.1", or "openresty/1.21.4.1").
func ParseVersion(out string) string {
	_, rest, ok := strings.Cut(out, "nginx version: ")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, " \r\n"); i >= 0 {
		rest = rest[:i]
	}
	_, v, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return v
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, commandTimeout)
}

// ConfigTest runs `nginx -t -c CONFIG`. ok is nginx's verdict and output
// what it printed; err is set only when nginx could not be run.
func ConfigTest(ctx context.Context, sys host.System, binary, config string) (ok bool, output string, err error) {
	if binary == "" {
		binary = "nginx"
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	args := []string{"-t"}
	if config != "" {
		args = append(args, "-c", config)
	}
	out, err := sys.Run(ctx, binary, args...)
	if err != nil {
		return false, "", fmt.Errorf("run %s -t: %w", binary, err)
	}
	text := strings.TrimSpace(string(out.Stderr) + string(out.Stdout))
	return out.ExitCode == 0, text, nil
}
