// Package host is the System seam: every read of the machine (processes,
// listeners, files, users, commands, DNS, dialing) goes through System, so
// checks run the same against the live host and against a recorded snapshot.
package host

import (
	"context"
	"io"
	"io/fs"
	"net"
	"time"
)

// System is everything ngxdoctor reads from the machine. Implementations:
// Live (the real host) and Replay (a Recording replayed, e.g. from testdata);
// Record wraps either and keeps every answer.
type System interface {
	// Now is the host's clock; the log window is measured against it.
	Now() time.Time
	// Location is the host's local time zone (nginx logs local time without a zone).
	Location() *time.Location
	// Euid is the effective user id ngxdoctor runs as (0 = root).
	Euid() int

	Processes(ctx context.Context) ([]Process, error)
	// Machine is who the host is (name, OS, kernel, uptime): the report's host line.
	Machine(ctx context.Context) (Machine, error)
	// Resources are memory, swap and load now.
	Resources(ctx context.Context) (Resources, error)
	// Listeners lists listening TCP sockets (v4 and v6) and unix stream sockets.
	Listeners(ctx context.Context) ([]Listener, error)

	// Lstat never follows a final symlink.
	Lstat(path string) (FileInfo, error)
	// Open opens a regular file for reading; it refuses anything else
	// (a FIFO or /dev/stderr would block a reader forever).
	Open(path string) (File, error)
	Glob(pattern string) ([]string, error)

	LookupUser(name string) (User, error)
	LookupUserID(uid uint32) (User, error)
	LookupGroupID(gid uint32) (string, error)

	// Run runs argv with the context's deadline, never through a shell.
	// A non-zero exit is not an error: it is in Output.ExitCode. A missing
	// binary gives an error wrapping exec.ErrNotFound.
	Run(ctx context.Context, name string, args ...string) (Output, error)
	LookPath(name string) (string, error)

	LookupHost(ctx context.Context, host string) ([]string, error)
	// Dial connects as nginx would: network "tcp" or "unix".
	Dial(ctx context.Context, network, address string) (net.Conn, error)
}

// File is an open regular file read from anywhere (logs are read from the end).
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

type Process struct {
	PID     int32    `json:"pid"`
	PPID    int32    `json:"ppid"`
	Name    string   `json:"name"`
	Exe     string   `json:"exe,omitempty"`
	Cmdline []string `json:"cmdline,omitempty"`
	User    string   `json:"user,omitempty"`
	UID     uint32   `json:"uid"`
	// Cgroup is the process's cgroup path (v2 unified), e.g.
	// /system.slice/php8.2-fpm.service; it names the systemd unit.
	Cgroup string `json:"cgroup,omitempty"`
	// Started is when the process started (zero when unknown).
	Started time.Time `json:"started,omitempty"`
	// RSS is the resident memory in bytes (0 when unknown).
	RSS uint64 `json:"rss,omitempty"`
	// OpenFiles counts the open descriptors; FileLimit is the soft
	// RLIMIT_NOFILE (Unlimited for "unlimited"). nil when unknown: without
	// root another user's fd directory cannot be read.
	OpenFiles *int32  `json:"open_files,omitempty"`
	FileLimit *uint64 `json:"file_limit,omitempty"`
}

// Machine is who the host is.
type Machine struct {
	Name string `json:"name"`
	// OS is the distribution and its version ("debian 12.8"), else the kernel's OS.
	OS     string `json:"os"`
	Kernel string `json:"kernel"`
	// Booted is when the host started; Uptime is measured at Now.
	Booted time.Time     `json:"booted,omitempty"`
	Uptime time.Duration `json:"uptime"`
}

// Resources are the host's memory, swap and load at one moment.
type Resources struct {
	// MemTotal and MemAvailable in bytes (MemAvailable as the kernel
	// estimates what can be had without swapping).
	MemTotal     uint64 `json:"mem_total"`
	MemAvailable uint64 `json:"mem_available"`
	SwapTotal    uint64 `json:"swap_total"`
	SwapUsed     uint64 `json:"swap_used"`
	// SwapIn and SwapOut are bytes swapped since boot: a host that is
	// swapping now shows them growing, one that swapped once does not.
	SwapIn  uint64 `json:"swap_in,omitempty"`
	SwapOut uint64 `json:"swap_out,omitempty"`
	// Load averages over 1, 5 and 15 minutes, and the CPUs to read them against.
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
	CPUs   int     `json:"cpus,omitempty"`
}

type Listener struct {
	// Network is "tcp" (either family) or "unix".
	Network string `json:"network"`
	// Address is "127.0.0.1:3000", "[::1]:3000", "0.0.0.0:80", "[::]:80" or a socket path.
	Address string `json:"address"`
	IP      string `json:"ip,omitempty"`
	Port    int    `json:"port,omitempty"`
	PID     int32  `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
	User    string `json:"user,omitempty"`
	// Queue is the accept queue now; Backlog its limit (0 when unknown).
	// Queue >= Backlog means new connections are not accepted.
	Queue   int `json:"queue"`
	Backlog int `json:"backlog"`
}

type FileInfo struct {
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
	UID  uint32      `json:"uid"`
	GID  uint32      `json:"gid"`
	Size int64       `json:"size"`
	// Target is where a symlink points (only for symlinks).
	Target  string    `json:"target,omitempty"`
	ModTime time.Time `json:"mod_time,omitempty"`
}

type User struct {
	Name string `json:"name"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	// Groups are all the user's group ids, primary included.
	Groups []uint32 `json:"groups"`
}

type Output struct {
	Stdout   []byte `json:"stdout,omitempty"`
	Stderr   []byte `json:"stderr,omitempty"`
	ExitCode int    `json:"exit_code"`
}

// InZone is sys with nginx's local timestamps read in loc: for logs copied
// from a host in another zone, and for tests and tools that write their own.
func InZone(sys System, loc *time.Location) System { return zoned{sys, loc} }

type zoned struct {
	System
	loc *time.Location
}

func (z zoned) Location() *time.Location { return z.loc }
