package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Recorder is a System that answers from inner and remembers every answer,
// so that a run on a real incident can be replayed later (tests, the demo).
// It is safe for concurrent use.
type Recorder struct {
	inner System
	mu    sync.Mutex
	rec   Recording
}

// Record wraps inner; Recording returns what has been seen so far.
func Record(inner System) *Recorder {
	r := &Recorder{inner: inner}
	r.rec.Now = inner.Now()
	r.rec.Location = zoneName(inner.Location())
	r.rec.Euid = inner.Euid()
	return r
}

// Recording returns a deep copy of what was recorded, so the caller may
// marshal it while checks still run.
func (r *Recorder) Recording() *Recording {
	r.mu.Lock()
	b, err := json.Marshal(&r.rec)
	r.mu.Unlock()
	out := &Recording{}
	if err != nil || json.Unmarshal(b, out) != nil {
		// Every field is plain data; this cannot fail, but never panic.
		return &Recording{Now: r.rec.Now, Location: r.rec.Location, Euid: r.rec.Euid}
	}
	return out
}

func (r *Recorder) locked(f func(rec *Recording)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.rec)
}

func (r *Recorder) file(rec *Recording, path string) *RecordedFile {
	if rec.Files == nil {
		rec.Files = map[string]*RecordedFile{}
	}
	f := rec.Files[path]
	if f == nil {
		f = &RecordedFile{}
		rec.Files[path] = f
	}
	return f
}

// Now is the host's clock; the recording keeps the time recording began,
// which the replay's log window is measured against.
func (r *Recorder) Now() time.Time { return r.inner.Now() }

func (r *Recorder) Location() *time.Location { return r.inner.Location() }
func (r *Recorder) Euid() int                { return r.inner.Euid() }

func (r *Recorder) Processes(ctx context.Context) ([]Process, error) {
	ps, err := r.inner.Processes(ctx)
	r.locked(func(rec *Recording) {
		rec.Processes = append([]Process(nil), ps...)
		rec.ProcessesErr = recordError(err)
	})
	return ps, err
}

func (r *Recorder) Machine(ctx context.Context) (Machine, error) {
	m, err := r.inner.Machine(ctx)
	r.locked(func(rec *Recording) {
		rec.Machine, rec.MachineErr = nil, recordError(err)
		if err == nil {
			rec.Machine = &m
		}
	})
	return m, err
}

func (r *Recorder) Resources(ctx context.Context) (Resources, error) {
	res, err := r.inner.Resources(ctx)
	r.locked(func(rec *Recording) {
		rec.Resources, rec.ResourcesErr = nil, recordError(err)
		if err == nil {
			rec.Resources = &res
		}
	})
	return res, err
}

func (r *Recorder) Listeners(ctx context.Context) ([]Listener, error) {
	ls, err := r.inner.Listeners(ctx)
	r.locked(func(rec *Recording) {
		rec.Listeners = append([]Listener(nil), ls...)
		rec.ListenersErr = recordError(err)
	})
	return ls, err
}

func (r *Recorder) Lstat(path string) (FileInfo, error) {
	fi, err := r.inner.Lstat(path)
	r.locked(func(rec *Recording) {
		f := r.file(rec, path)
		if err != nil {
			f.Stat, f.StatErr = nil, recordError(err)
			return
		}
		fi := fi
		f.Stat, f.StatErr = &fi, nil
	})
	return fi, err
}

func (r *Recorder) Open(path string) (File, error) {
	fh, err := r.inner.Open(path)
	var content *string
	var note error
	if err == nil {
		switch size := fh.Size(); {
		case size > maxRecordedFile:
			note = fmt.Errorf("%s: %d bytes is too large to record (limit %d)", path, size, maxRecordedFile)
		default:
			buf := make([]byte, size)
			n, rerr := fh.ReadAt(buf, 0)
			if rerr != nil && rerr != io.EOF {
				note = fmt.Errorf("%s: read for the recording: %w", path, rerr)
			} else {
				s := string(buf[:n])
				content = &s
			}
		}
	}
	r.locked(func(rec *Recording) {
		f := r.file(rec, path)
		switch {
		case err != nil:
			f.Content, f.OpenErr = nil, recordError(err)
		case note != nil:
			f.Content, f.OpenErr = nil, recordError(note)
		default:
			f.Content, f.OpenErr = content, nil
		}
	})
	return fh, err
}

func (r *Recorder) Glob(pattern string) ([]string, error) {
	g, err := r.inner.Glob(pattern)
	if err == nil {
		r.locked(func(rec *Recording) {
			if rec.Globs == nil {
				rec.Globs = map[string][]string{}
			}
			rec.Globs[pattern] = append([]string{}, g...)
		})
	}
	return g, err
}

func (r *Recorder) addUser(u User) {
	r.locked(func(rec *Recording) {
		for i := range rec.Users {
			if rec.Users[i].UID == u.UID && rec.Users[i].Name == u.Name {
				return
			}
		}
		rec.Users = append(rec.Users, u)
	})
}

func (r *Recorder) LookupUser(name string) (User, error) {
	u, err := r.inner.LookupUser(name)
	if err == nil {
		r.addUser(u)
	}
	return u, err
}

func (r *Recorder) LookupUserID(uid uint32) (User, error) {
	u, err := r.inner.LookupUserID(uid)
	if err == nil {
		r.addUser(u)
	}
	return u, err
}

func (r *Recorder) LookupGroupID(gid uint32) (string, error) {
	name, err := r.inner.LookupGroupID(gid)
	if err == nil {
		r.locked(func(rec *Recording) {
			if rec.Groups == nil {
				rec.Groups = map[string]string{}
			}
			rec.Groups[strconv.FormatUint(uint64(gid), 10)] = name
		})
	}
	return name, err
}

func (r *Recorder) Run(ctx context.Context, name string, args ...string) (Output, error) {
	out, err := r.inner.Run(ctx, name, args...)
	c := RecordedCommand{
		Argv:     append([]string{name}, args...),
		Stdout:   string(out.Stdout),
		Stderr:   string(out.Stderr),
		ExitCode: out.ExitCode,
		Err:      recordError(err),
	}
	r.locked(func(rec *Recording) {
		key := argvKey(c.Argv)
		for i := range rec.Commands {
			if argvKey(rec.Commands[i].Argv) == key {
				rec.Commands[i] = c
				return
			}
		}
		rec.Commands = append(rec.Commands, c)
	})
	return out, err
}

func (r *Recorder) LookPath(name string) (string, error) {
	p, err := r.inner.LookPath(name)
	r.locked(func(rec *Recording) {
		if rec.Paths == nil {
			rec.Paths = map[string]string{}
		}
		rec.Paths[name] = p // "" when not found
	})
	return p, err
}

func (r *Recorder) LookupHost(ctx context.Context, host string) ([]string, error) {
	addrs, err := r.inner.LookupHost(ctx, host)
	h := RecordedLookup{Addrs: append([]string(nil), addrs...)}
	if err != nil {
		h.Err = err.Error()
		if de, ok := err.(*net.DNSError); ok {
			h.Err, h.NotFound = de.Err, de.IsNotFound
		}
	}
	r.locked(func(rec *Recording) {
		if rec.Hosts == nil {
			rec.Hosts = map[string]RecordedLookup{}
		}
		rec.Hosts[host] = h
	})
	return addrs, err
}

func (r *Recorder) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := r.inner.Dial(ctx, network, address)
	d := &RecordedDial{}
	if err != nil {
		// Without an errno (a DNS failure inside the dial) the message is
		// kept; replayed, it comes back as an error with that text.
		if d.Errno = recordError(err).Errno; d.Errno == "" {
			d.Errno = err.Error()
		}
	}
	r.locked(func(rec *Recording) {
		if rec.Dials == nil {
			rec.Dials = map[string]*RecordedDial{}
		}
		rec.Dials[dialKey(network, address)] = d
	})
	if err != nil {
		return nil, err
	}
	return &recordedConn{Conn: conn, r: r, d: d}, nil
}

// recordedConn keeps what the peer says, and how long it took to start
// answering, for the replayed peer to say the same.
type recordedConn struct {
	net.Conn
	r        *Recorder
	d        *RecordedDial
	wroteAt  time.Time
	answered bool
}

func (c *recordedConn) Write(p []byte) (int, error) {
	c.r.locked(func(*Recording) {
		if c.wroteAt.IsZero() {
			c.wroteAt = time.Now()
		}
	})
	return c.Conn.Write(p)
}

func (c *recordedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.r.locked(func(*Recording) {
			if !c.answered && !c.wroteAt.IsZero() {
				if d := time.Since(c.wroteAt); d > 100*time.Millisecond {
					c.d.ResponseDelay = d.Round(time.Millisecond)
				}
			}
			c.answered = true
			if room := maxRecordedResponse - len(c.d.Response); room > 0 {
				c.d.Response += string(p[:min(n, room)])
			}
		})
	}
	return n, err
}
