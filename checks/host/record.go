package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxRecordedFile bounds a recorded file. Log readers use ReadAt anywhere in
// the file, so a file is recorded whole or not at all.
const maxRecordedFile = 8 << 20

// maxRecordedResponse bounds what a recorded dial keeps of the peer's answer.
const maxRecordedResponse = 1 << 20

// Recording is a snapshot of everything a run read from a host; replayed,
// it answers the same questions the same way. Errors are kept as errno
// names ("ENOENT", "ECONNREFUSED") so replayed errors classify like live ones.
type Recording struct {
	Now      time.Time `json:"now"`
	Location string    `json:"location"`
	Euid     int       `json:"euid"`

	Processes    []Process  `json:"processes,omitempty"`
	ProcessesErr *Error     `json:"processes_error,omitempty"`
	Listeners    []Listener `json:"listeners,omitempty"`
	ListenersErr *Error     `json:"listeners_error,omitempty"`
	// Machine and Resources are absent from recordings made before they
	// were read; replayed, they are then "not in the recording".
	Machine      *Machine   `json:"machine,omitempty"`
	MachineErr   *Error     `json:"machine_error,omitempty"`
	Resources    *Resources `json:"resources,omitempty"`
	ResourcesErr *Error     `json:"resources_error,omitempty"`

	// Files by path: what Lstat and Open answered.
	Files map[string]*RecordedFile `json:"files,omitempty"`
	// Globs by pattern; a pattern not recorded is matched against Files.
	Globs map[string][]string `json:"globs,omitempty"`

	// Users and Groups that were found; any other lookup fails as unknown.
	Users  []User            `json:"users,omitempty"`
	Groups map[string]string `json:"groups,omitempty"` // gid -> name

	Commands []RecordedCommand `json:"commands,omitempty"`
	// Paths are LookPath answers; "" means not found.
	Paths map[string]string `json:"paths,omitempty"`

	Hosts map[string]RecordedLookup `json:"hosts,omitempty"`
	// Dials by "network address", e.g. "tcp 127.0.0.1:3000".
	Dials map[string]*RecordedDial `json:"dials,omitempty"`
}

// Error is a recorded error: an errno name when there was one, and the message.
type Error struct {
	Errno   string `json:"errno,omitempty"`
	Message string `json:"message"`
}

// RecordedFile is one path's Lstat and Open answers.
type RecordedFile struct {
	Stat    *FileInfo `json:"stat,omitempty"`
	StatErr *Error    `json:"stat_error,omitempty"`
	// Content is the whole file when it was opened (nil when not opened).
	Content *string `json:"content,omitempty"`
	OpenErr *Error  `json:"open_error,omitempty"`
}

type RecordedCommand struct {
	Argv     []string `json:"argv"`
	Stdout   string   `json:"stdout,omitempty"`
	Stderr   string   `json:"stderr,omitempty"`
	ExitCode int      `json:"exit_code"`
	Err      *Error   `json:"error,omitempty"`
}

type RecordedLookup struct {
	Addrs []string `json:"addrs,omitempty"`
	Err   string   `json:"error,omitempty"`
	// NotFound marks an NXDOMAIN-like answer.
	NotFound bool `json:"not_found,omitempty"`
}

// RecordedDial is how connecting went: an error (Errno: "ECONNREFUSED",
// "EACCES", "ENOENT", "ETIMEDOUT", "EHOSTUNREACH" or "timeout" for a
// deadline that expired), or a peer that reads the request and answers
// Response, then closes.
type RecordedDial struct {
	Errno    string `json:"errno,omitempty"`
	Response string `json:"response,omitempty"`
	// Delay before the dial returns; ResponseDelay before the answer is written.
	Delay         time.Duration `json:"delay,omitempty"`
	ResponseDelay time.Duration `json:"response_delay,omitempty"`
}

// LoadRecording reads a recording written by Marshal.
func LoadRecording(data []byte) (*Recording, error) {
	var r Recording
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("load recording: %w", err)
	}
	return &r, nil
}

// Marshal writes the recording as indented JSON, fit for testdata/.
func (r *Recording) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal recording: %w", err)
	}
	return append(b, '\n'), nil
}

func dialKey(network, address string) string { return network + " " + address }

func argvKey(argv []string) string { return strings.Join(argv, "\x00") }

// errnoNames maps "ENOENT" back to its errno; x/sys only goes the other way.
var errnoNames = func() map[string]syscall.Errno {
	m := map[string]syscall.Errno{}
	for e := syscall.Errno(1); e < 256; e++ {
		if n := unix.ErrnoName(e); n != "" {
			m[n] = e
		}
	}
	return m
}()

// recordError keeps what classification needs: the errno, or "timeout",
// or "not-found" for a missing binary.
func recordError(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Message: err.Error()}
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.As(err, &errno):
		e.Errno = unix.ErrnoName(errno)
	case errors.Is(err, exec.ErrNotFound):
		e.Errno = "not-found"
	case errors.Is(err, ErrNotRegular):
		e.Errno = "not-regular"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		e.Errno = "timeout"
	case errors.Is(err, fs.ErrNotExist):
		e.Errno = "ENOENT"
	case errors.Is(err, fs.ErrPermission):
		e.Errno = "EACCES"
	}
	return e
}

// cause turns a recorded errno back into an error value that errors.Is
// matches like the original.
func (e *Error) cause() error {
	switch e.Errno {
	case "timeout":
		return errTimeout
	case "not-found":
		return exec.ErrNotFound
	case "not-regular":
		return ErrNotRegular
	}
	if n, ok := errnoNames[e.Errno]; ok {
		return n
	}
	return errors.New(e.Message)
}

// err rebuilds a recorded error with the message it had.
func (e *Error) err() error {
	if e == nil {
		return nil
	}
	return &replayedError{msg: e.Message, cause: e.cause()}
}

type replayedError struct {
	msg   string
	cause error
}

func (e *replayedError) Error() string { return e.msg }
func (e *replayedError) Unwrap() error { return e.cause }

// timeoutError mirrors net's own: a timeout that errors.Is recognises as a
// deadline, so code written against live dials reads replayed ones alike.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(err error) bool {
	return err == context.DeadlineExceeded || err == os.ErrDeadlineExceeded
}

var errTimeout error = timeoutError{}

// zoneName finds the IANA name behind time.Local, which calls itself "Local".
func zoneName(loc *time.Location) string {
	if loc == nil {
		return "UTC"
	}
	if n := loc.String(); n != "Local" {
		return n
	}
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" {
		return tz
	}
	if t, err := os.Readlink("/etc/localtime"); err == nil {
		if _, after, ok := strings.Cut(t, "zoneinfo/"); ok {
			return after
		}
	}
	return "UTC"
}

// Replay answers from a recording and never touches the host.
func Replay(r *Recording) System {
	rp := &replay{r: r, cmds: map[string]RecordedCommand{}, users: map[string]User{}, uids: map[uint32]User{}}
	for _, c := range r.Commands {
		rp.cmds[argvKey(c.Argv)] = c
	}
	for _, u := range r.Users {
		rp.users[u.Name] = u
		rp.uids[u.UID] = u
	}
	rp.loc = time.UTC
	if r.Location != "" {
		if loc, err := time.LoadLocation(r.Location); err == nil {
			rp.loc = loc
		}
	}
	return rp
}

type replay struct {
	r     *Recording
	cmds  map[string]RecordedCommand
	users map[string]User
	uids  map[uint32]User
	loc   *time.Location
}

func (p *replay) Now() time.Time           { return p.r.Now }
func (p *replay) Location() *time.Location { return p.loc }
func (p *replay) Euid() int                { return p.r.Euid }

func (p *replay) Processes(ctx context.Context) ([]Process, error) {
	return slices.Clone(p.r.Processes), p.r.ProcessesErr.err()
}

func (p *replay) Machine(ctx context.Context) (Machine, error) {
	switch {
	case p.r.MachineErr != nil:
		return Machine{}, p.r.MachineErr.err()
	case p.r.Machine == nil:
		return Machine{}, fmt.Errorf("host name and OS: %w", ErrNotRecorded)
	}
	return *p.r.Machine, nil
}

func (p *replay) Resources(ctx context.Context) (Resources, error) {
	switch {
	case p.r.ResourcesErr != nil:
		return Resources{}, p.r.ResourcesErr.err()
	case p.r.Resources == nil:
		return Resources{}, fmt.Errorf("memory and load: %w", ErrNotRecorded)
	}
	return *p.r.Resources, nil
}

func (p *replay) Listeners(ctx context.Context) ([]Listener, error) {
	return slices.Clone(p.r.Listeners), p.r.ListenersErr.err()
}

func notExist(op, path string) error {
	return &fs.PathError{Op: op, Path: path, Err: syscall.ENOENT}
}

func (p *replay) Lstat(path string) (FileInfo, error) {
	f := p.r.Files[path]
	switch {
	case f == nil:
		return FileInfo{}, notExist("lstat", path)
	case f.StatErr != nil:
		return FileInfo{}, &fs.PathError{Op: "lstat", Path: path, Err: f.StatErr.cause()}
	case f.Stat != nil:
		return *f.Stat, nil
	case f.Content != nil:
		// Recorded by hand with content only: a plain file.
		return FileInfo{Path: path, Mode: 0o644, Size: int64(len(*f.Content))}, nil
	}
	return FileInfo{}, notExist("lstat", path)
}

type memFile struct {
	*bytes.Reader
}

func (m memFile) Close() error { return nil }

func (p *replay) Open(path string) (File, error) {
	return p.open(path, 0)
}

func (p *replay) open(path string, depth int) (File, error) {
	f := p.r.Files[path]
	switch {
	case f == nil:
		return nil, notExist("open", path)
	case f.OpenErr != nil:
		return nil, &fs.PathError{Op: "open", Path: path, Err: f.OpenErr.err()}
	case f.Content != nil:
		return memFile{bytes.NewReader([]byte(*f.Content))}, nil
	case f.Stat != nil && f.Stat.Mode&fs.ModeSymlink != 0 && f.Stat.Target != "" && depth < 40:
		// Open follows symlinks, as the live one does.
		target := f.Stat.Target
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		return p.open(target, depth+1)
	case f.Stat != nil && !f.Stat.Mode.IsRegular() && f.Stat.Mode&fs.ModeSymlink == 0:
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kindOf(f.Stat.Mode))}
	}
	return nil, notExist("open", path)
}

func (p *replay) Glob(pattern string) ([]string, error) {
	if g, ok := p.r.Globs[pattern]; ok {
		return slices.Clone(g), nil
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for path, f := range p.r.Files {
		if f == nil || f.StatErr != nil || (f.Stat == nil && f.Content == nil) {
			continue
		}
		if ok, _ := filepath.Match(pattern, path); ok {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (p *replay) LookupUser(name string) (User, error) {
	if u, ok := p.users[name]; ok {
		u.Groups = slices.Clone(u.Groups)
		return u, nil
	}
	return User{}, user.UnknownUserError(name)
}

func (p *replay) LookupUserID(uid uint32) (User, error) {
	if u, ok := p.uids[uid]; ok {
		u.Groups = slices.Clone(u.Groups)
		return u, nil
	}
	return User{}, user.UnknownUserIdError(int(uid))
}

func (p *replay) LookupGroupID(gid uint32) (string, error) {
	id := strconv.FormatUint(uint64(gid), 10)
	if n, ok := p.r.Groups[id]; ok {
		return n, nil
	}
	return "", user.UnknownGroupIdError(id)
}

func (p *replay) Run(ctx context.Context, name string, args ...string) (Output, error) {
	argv := append([]string{name}, args...)
	c, ok := p.cmds[argvKey(argv)]
	if !ok {
		return Output{}, fmt.Errorf("run %s: %w", name, &exec.Error{Name: name, Err: exec.ErrNotFound})
	}
	out := Output{Stdout: bytesOrNil([]byte(c.Stdout)), Stderr: bytesOrNil([]byte(c.Stderr)), ExitCode: c.ExitCode}
	if c.Err != nil {
		return out, fmt.Errorf("run %s: %w", name, c.Err.err())
	}
	return out, nil
}

func (p *replay) LookPath(name string) (string, error) {
	if path, ok := p.r.Paths[name]; ok {
		if path == "" {
			return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
		}
		return path, nil
	}
	// A recording made by hand lists commands, not paths: a command that
	// ran must have been found.
	for _, c := range p.r.Commands {
		if len(c.Argv) > 0 && c.Argv[0] == name && (c.Err == nil || c.Err.Errno != "not-found") {
			return name, nil
		}
	}
	// Never looked up when it was recorded: not found here, and unknown there.
	return "", &exec.Error{Name: name, Err: fmt.Errorf("%w (%w)", exec.ErrNotFound, ErrNotRecorded)}
}

func (p *replay) LookupHost(ctx context.Context, host string) ([]string, error) {
	h, ok := p.r.Hosts[host]
	if !ok {
		if ip := net.ParseIP(host); ip != nil {
			return []string{ip.String()}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if h.Err != "" || h.NotFound {
		msg := h.Err
		if msg == "" {
			msg = "no such host"
		}
		return nil, &net.DNSError{Err: msg, Name: host, IsNotFound: h.NotFound}
	}
	return slices.Clone(h.Addrs), nil
}

// sleep waits d or until ctx ends; it reports whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *replay) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	d := p.r.Dials[dialKey(network, address)]
	if d == nil {
		// Nothing was there when recorded: the kernel's answer for a closed
		// port, or for a socket path that does not exist.
		errno := syscall.ECONNREFUSED
		if network == "unix" {
			errno = syscall.ENOENT
		}
		return nil, dialError(network, address, errno)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	if !sleep(ctx, d.Delay) {
		return nil, dialError(network, address, errTimeout)
	}
	switch d.Errno {
	case "":
	case "timeout":
		// A dial that timed out took the caller's whole deadline.
		if _, has := ctx.Deadline(); has && d.Delay == 0 {
			<-ctx.Done()
		}
		return nil, dialError(network, address, errTimeout)
	default:
		e, ok := errnoNames[d.Errno]
		if !ok {
			return nil, dialError(network, address, errors.New(d.Errno))
		}
		return nil, dialError(network, address, e)
	}
	client, server := net.Pipe()
	go servePeer(server, d.Response, d.ResponseDelay)
	return client, nil
}

// dialError is shaped like net.Dialer's own errors: *net.OpError around an
// *os.SyscallError around the errno.
func dialError(network, address string, cause error) error {
	var addr net.Addr
	if network == "unix" {
		addr = &net.UnixAddr{Name: address, Net: "unix"}
	} else if ap, err := netip.ParseAddrPort(address); err == nil {
		// Never resolve a name here: a replay must not touch the network.
		addr = net.TCPAddrFromAddrPort(ap)
	}
	if _, ok := cause.(syscall.Errno); ok {
		cause = os.NewSyscallError("connect", cause)
	}
	return &net.OpError{Op: "dial", Net: network, Addr: addr, Err: cause}
}

// servePeer plays the recorded backend: read the request (until the client
// pauses), answer, close.
func servePeer(c net.Conn, response string, delay time.Duration) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	wait := time.Second
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return // the client hung up
		}
		wait = 50 * time.Millisecond
	}
	c.SetReadDeadline(time.Time{})
	if delay > 0 {
		time.Sleep(delay)
	}
	if response != "" {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte(response))
	}
}
