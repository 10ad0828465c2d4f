package host

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	gphost "github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

func (l *live) Machine(ctx context.Context) (Machine, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	var m Machine
	var err error
	if m.Name, err = os.Hostname(); err != nil {
		return m, fmt.Errorf("host name: %w", err)
	}
	// gopsutil's host.Info would also probe virtualization and read the
	// machine id; the report needs only these. The distribution comes from
	// os-release, not gopsutil's PlatformInformation: on Debian (no
	// /etc/lsb-release) that runs lsb_release, a shell script forking
	// getopt, cut and tr, 70 ms of a check's fixed cost for one word.
	m.OS = readOSRelease()
	m.Kernel, _ = gphost.KernelVersionWithContext(ctx)
	if up, err := gphost.UptimeWithContext(ctx); err == nil {
		m.Uptime = time.Duration(up) * time.Second
	}
	if bt, err := gphost.BootTimeWithContext(ctx); err == nil && bt > 0 {
		m.Booted = time.Unix(int64(bt), 0)
	}
	return m, nil
}

func (l *live) Resources(ctx context.Context) (Resources, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	var r Resources
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return r, fmt.Errorf("memory: %w", err)
	}
	r.MemTotal, r.MemAvailable = vm.Total, vm.Available
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		r.SwapTotal, r.SwapUsed, r.SwapIn, r.SwapOut = sw.Total, sw.Used, sw.Sin, sw.Sout
	}
	if avg, err := load.AvgWithContext(ctx); err == nil {
		r.Load1, r.Load5, r.Load15 = avg.Load1, avg.Load5, avg.Load15
	}
	r.CPUs, _ = cpu.CountsWithContext(ctx, true)
	return r, nil
}

// readOSRelease names the distribution and its version, "debian 12.11",
// from os-release(5) (/etc, else /usr/lib), the standard every systemd-era
// distribution ships; Debian's point release is only in /etc/debian_version.
// "linux" when neither says.
func readOSRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		b, _ = os.ReadFile("/usr/lib/os-release")
	}
	id, version := parseOSRelease(string(b))
	if id == "debian" {
		if v, err := os.ReadFile("/etc/debian_version"); err == nil {
			if v := strings.TrimSpace(string(v)); v != "" && v[0] >= '0' && v[0] <= '9' {
				version = v // "12.11"; testing and sid say "trixie/sid"
			}
		}
	}
	if id == "" {
		return "linux"
	}
	return strings.TrimSpace(id + " " + version)
}

// parseOSRelease reads ID and VERSION_ID from os-release's KEY=value
// lines, where a value may be quoted.
func parseOSRelease(s string) (id, version string) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `"'`)
		}
		switch k {
		case "ID":
			id = strings.ToLower(v)
		case "VERSION_ID":
			version = v
		}
	}
	return id, version
}

// String is the report's host line: "vm (debian 12.8, kernel 6.1.0-18, up 3d 4h)".
func (m Machine) String() string {
	var parts []string
	for _, s := range []string{m.OS, kernelWord(m.Kernel), upWords(m.Uptime)} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return m.Name
	}
	return m.Name + " (" + strings.Join(parts, ", ") + ")"
}

func kernelWord(k string) string {
	if k == "" {
		return ""
	}
	return "kernel " + k
}

// upWords says an uptime the way uptime(1) would, to the minute.
func upWords(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	days := int(d / (24 * time.Hour))
	h := int(d/time.Hour) % 24
	m := int(d/time.Minute) % 60
	switch {
	case days > 0:
		return fmt.Sprintf("up %dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("up %dh %dm", h, m)
	}
	return fmt.Sprintf("up %dm", m)
}

// MemoryPressure says in words how short of memory the host is, or ""
// when it is not: less than a tenth of memory available, or swap in use
// by more than half.
func (r Resources) MemoryPressure() string {
	if r.MemTotal == 0 {
		return ""
	}
	var out []string
	if r.MemAvailable*10 < r.MemTotal {
		out = append(out, fmt.Sprintf("only %s of %s memory available", mib(r.MemAvailable), mib(r.MemTotal)))
	}
	if r.SwapTotal > 0 && r.SwapUsed*2 > r.SwapTotal {
		out = append(out, fmt.Sprintf("%s of %s swap in use", mib(r.SwapUsed), mib(r.SwapTotal)))
	}
	return strings.Join(out, ", ")
}

// String is one evidence line: memory, swap and load.
func (r Resources) String() string {
	s := fmt.Sprintf("memory: %s of %s available", mib(r.MemAvailable), mib(r.MemTotal))
	if r.SwapTotal > 0 {
		s += fmt.Sprintf("; swap: %s of %s used", mib(r.SwapUsed), mib(r.SwapTotal))
	} else {
		s += "; no swap"
	}
	s += fmt.Sprintf("; load %.2f %.2f %.2f", r.Load1, r.Load5, r.Load15)
	if r.CPUs > 0 {
		s += fmt.Sprintf(" on %d CPUs", r.CPUs)
	}
	return s
}

func mib(b uint64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", b>>20)
}
