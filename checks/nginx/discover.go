package nginx

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// DefaultConfig is where distribution packages put the main config.
const DefaultConfig = "/etc/nginx/nginx.conf"

// commandTimeout bounds `nginx -V` and `nginx -t` when the caller gave no
// deadline; both answer in milliseconds unless something is badly wrong.
const commandTimeout = 15 * time.Second

// Want says which nginx to diagnose: the config (-c), the binary
// (--nginx) and a master pid (the wizard's switch). Empty fields are
// discovered.
type Want struct {
	Config string
	Binary string
	PID    int32
	// UserFromConfig: the caller loads the whole config next and takes the
	// worker user from it when no worker runs, so Find need not parse the
	// main file a second time (on a 9 MiB config that parse was a third of
	// check's own CPU).
	UserFromConfig bool
}

// Discover finds nginx: the running master (its -c and executable), else
// what `nginx -V` was compiled with, else DefaultConfig. The flags, when
// set, win over everything found.
func Discover(ctx context.Context, sys host.System, configFlag, binaryFlag string) (Install, error) {
	return Find(ctx, sys, Want{Config: configFlag, Binary: binaryFlag})
}

// Find is Discover with a master asked for by pid. With a config, only a
// master running that config is taken, never another: when none runs it,
// the Install is not running (and Chosen says what runs instead). Every
// master on the host is listed in Masters.
func Find(ctx context.Context, sys host.System, want Want) (Install, error) {
	var in Install
	configFlag, binaryFlag := want.Config, want.Binary
	if configFlag != "" && !filepath.IsAbs(configFlag) {
		// nginx would read a relative -c against its prefix; the person
		// typing it means the current directory.
		if abs, err := filepath.Abs(configFlag); err == nil {
			configFlag = abs
		}
	}
	procs, _ := sys.Processes(ctx) // without a process table, discovery falls back to nginx -V
	builds := buildCache{sys: sys, got: map[string]buildInfo{}}
	in.Masters = listMasters(ctx, procs, &builds)
	master, why := chooseMaster(ctx, in.Masters, configFlag, want.PID, &builds)
	in.Chosen = why
	var workers []host.Process
	var masterProc *host.Process
	if master != nil {
		for i := range procs {
			if procs[i].PID == master.PID {
				masterProc = &procs[i]
			}
		}
		workers = workersOf(procs, master.PID)
	}
	var masterConf, masterPrefix string
	if masterProc != nil {
		in.Running = true
		in.MasterPID = master.PID
		masterConf, masterPrefix = masterArgs(masterProc.Cmdline)
		for _, w := range workers {
			in.WorkerPIDs = append(in.WorkerPIDs, w.PID)
			if in.WorkerUser == "" && w.User != "" {
				in.WorkerUser = w.User
			}
		}
	}

	in.Binary = binaryFlag
	if in.Binary == "" && master != nil {
		in.Binary = master.Binary
	}
	if in.Binary == "" {
		if p, err := sys.LookPath("nginx"); err == nil {
			in.Binary = p
		}
	}

	var compiledConf string
	if in.Binary != "" {
		if v, err := builds.of(ctx, in.Binary); err == nil {
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

	if in.WorkerUser == "" && !want.UserFromConfig {
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

// buildCache runs `nginx -V` once per binary: several masters usually
// share one.
type buildCache struct {
	sys  host.System
	got  map[string]buildInfo
	errs map[string]error
}

func (c *buildCache) of(ctx context.Context, binary string) (buildInfo, error) {
	if b, ok := c.got[binary]; ok {
		return b, nil
	}
	if err, ok := c.errs[binary]; ok {
		return buildInfo{}, err
	}
	b, err := compiled(ctx, c.sys, binary)
	if err != nil {
		if c.errs == nil {
			c.errs = map[string]error{}
		}
		c.errs[binary] = err
		return b, err
	}
	c.got[binary] = b
	return b, nil
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
