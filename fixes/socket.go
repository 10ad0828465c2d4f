package fixes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// modeChange is an owner/mode change made in-process on a path taken from a
// config: the path is opened with O_PATH|O_NOFOLLOW and its type checked on
// that descriptor, so a symlink swapped in never redirects the change.
type modeChange struct {
	Path string
	Kind string // "socket" or "dir"
	// UID/GID to set (-1 keeps); Mode is the new permission bits, or the
	// bits to add when Add is set.
	UID, GID int
	Mode     fs.FileMode
	Add      bool
	// Owner and Bits are the preview's words: "root:www-data", "o+x".
	Owner, Bits string
}

func (m modeChange) argv() [][]string {
	var out [][]string
	if m.Owner != "" {
		out = append(out, []string{"chown", m.Owner, m.Path})
	}
	if m.Add {
		out = append(out, []string{"chmod", m.Bits, m.Path})
	} else {
		out = append(out, []string{"chmod", fmt.Sprintf("%04o", m.Mode), m.Path})
	}
	return out
}

// openNoFollow opens the path itself (not what a symlink names) and checks
// its type on the descriptor. The directories on the way are walked one by
// one (walkDir), so a symlink swapped in above the last component does not
// redirect the change either.
func openNoFollow(path, kind string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	if !filepath.IsAbs(path) {
		return -1, st, fmt.Errorf("%s: not an absolute path", path)
	}
	path = filepath.Clean(path)
	dirfd, err := walkDir(filepath.Dir(path))
	if err != nil {
		return -1, st, fmt.Errorf("%s: %w", path, err)
	}
	fd, err := unix.Openat(dirfd, filepath.Base(path), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	unix.Close(dirfd)
	if err != nil {
		return -1, st, fmt.Errorf("%s: %w", path, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, fmt.Errorf("%s: %w", path, err)
	}
	want := uint32(unix.S_IFSOCK)
	if kind == "dir" {
		want = unix.S_IFDIR
	}
	if st.Mode&unix.S_IFMT != want {
		unix.Close(fd)
		what := "not a " + kind
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			what = "a symlink"
		}
		return -1, st, fmt.Errorf("%s is %s; refusing to change it", path, what)
	}
	return fd, st, nil
}

// walkDir opens an absolute directory path component by component with
// O_NOFOLLOW. A symlinked directory on the way (/var/run -> /run) is
// followed only when the directory holding the link belongs to root (or
// us) and nobody else may write it: then nobody else could have made or
// swapped it. A link in a directory a backend's user may write is refused.
func walkDir(dir string) (int, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	comps := strings.Split(dir, "/")
	hops := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		if c == "" || c == "." {
			continue
		}
		next, err := unix.Openat(fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", c, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			unix.Close(fd)
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			unix.Close(fd)
			fd = next
		case unix.S_IFLNK:
			buf := make([]byte, 4096)
			n, rerr := unix.Readlinkat(next, "", buf)
			unix.Close(next)
			terr := trustedDir(fd)
			if rerr != nil || terr != nil || n == len(buf) || hops >= 16 {
				unix.Close(fd)
				if terr != nil {
					return -1, fmt.Errorf("symlink %s in a directory others may write; refusing to follow it", c)
				}
				return -1, fmt.Errorf("symlink %s: cannot follow it", c)
			}
			hops++
			target := string(buf[:n])
			if filepath.IsAbs(target) {
				unix.Close(fd)
				if fd, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
					return -1, err
				}
			}
			// ".." in a target is taken on the real directory, as the kernel does.
			comps = append(strings.Split(target, "/"), comps...)
		default:
			unix.Close(next)
			unix.Close(fd)
			return -1, fmt.Errorf("%s: not a directory", c)
		}
	}
	return fd, nil
}

// trustedDir: owned by root or us, and writable by nobody else.
func trustedDir(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if (st.Uid != 0 && int(st.Uid) != os.Geteuid()) || st.Mode&0o022 != 0 {
		return errors.New("directory writable by others")
	}
	return nil
}

// metaOfStat keeps the setuid, setgid and sticky bits too: a directory's
// setgid (files made inside take its group) must survive an added o+x.
func metaOfStat(st unix.Stat_t) fileMeta {
	m := fs.FileMode(st.Mode & 0o777)
	if st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return fileMeta{Mode: m, UID: int(st.Uid), GID: int(st.Gid)}
}

// unixMode turns permission and special bits into chmod's argument.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// setOwnerMode changes the inode behind an O_PATH descriptor: fchownat with
// AT_EMPTY_PATH, and chmod through /proc/self/fd (fchmod refuses O_PATH).
func setOwnerMode(fd int, uid, gid int, mode fs.FileMode) error {
	if uid >= 0 || gid >= 0 {
		if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), unixMode(mode)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

// preparedMode is a mode change whose path is open and checked, with the
// record of what it will change, so the journal can hold it first.
type preparedMode struct {
	fd     int
	uid    int
	gid    int
	backup ModeBackup
}

// prepare opens the path (never through a symlink, of the right type) and
// computes the change without making it.
func (m modeChange) prepare() (*preparedMode, error) {
	fd, st, err := openNoFollow(m.Path, m.Kind)
	if err != nil {
		return nil, err
	}
	before := metaOfStat(st)
	after := before
	if m.UID >= 0 {
		after.UID = m.UID
	}
	if m.GID >= 0 {
		after.GID = m.GID
	}
	if m.Add {
		after.Mode |= m.Mode
	} else {
		after.Mode = m.Mode
	}
	return &preparedMode{fd: fd, uid: m.UID, gid: m.GID,
		backup: ModeBackup{Path: m.Path, Kind: m.Kind, Before: before, After: after}}, nil
}

// commit makes the change on the descriptor opened by prepare and closes it.
func (pm *preparedMode) commit() error {
	defer pm.close()
	if err := setOwnerMode(pm.fd, pm.uid, pm.gid, pm.backup.After.Mode); err != nil {
		return fmt.Errorf("%s: %w", pm.backup.Path, err)
	}
	return nil
}

func (pm *preparedMode) close() {
	if pm.fd >= 0 {
		unix.Close(pm.fd)
		pm.fd = -1
	}
}

func (m modeChange) apply() (ModeBackup, error) {
	pm, err := m.prepare()
	if err != nil {
		return ModeBackup{}, err
	}
	return pm.backup, pm.commit()
}

// restoreMode puts the old owner and mode back, unless the path now holds
// something else (a backend restart makes a new socket: nothing to undo).
func restoreMode(mb ModeBackup) (bool, error) {
	fd, st, err := openNoFollow(mb.Path, mb.Kind)
	if errors.Is(err, unix.ENOENT) {
		return false, nil // the backend removed its socket: nothing to put back
	}
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	if metaOfStat(st) != mb.After {
		return false, nil
	}
	return true, setOwnerMode(fd, mb.Before.UID, mb.Before.GID, mb.Before.Mode)
}

// worker is the nginx worker user with a name for its primary group.
type worker struct {
	host.User
	Group string
}

func workerOf(o *checks.Outcome, c checks.Cause) (worker, bool) {
	var w worker
	if o != nil && o.Snapshot != nil && o.Snapshot.WorkerUser.Name != "" {
		w.User = o.Snapshot.WorkerUser
	} else {
		name := c.Facts.WorkerUser
		if name == "" && o != nil && o.Snapshot != nil {
			name = o.Snapshot.Install.WorkerUser
		}
		u, err := user.Lookup(name)
		if name == "" || err != nil {
			return w, false
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		w.User = host.User{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}
		if ids, err := u.GroupIds(); err == nil {
			for _, s := range ids {
				if g, err := strconv.Atoi(s); err == nil {
					w.Groups = append(w.Groups, uint32(g))
				}
			}
		}
	}
	w.Group = groupName(int(w.GID))
	return w, true
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func (w worker) inGroup(gid uint32) bool {
	if gid == w.GID {
		return true
	}
	for _, g := range w.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// mayWrite: a unix socket needs write permission to connect.
func (w worker) mayWrite(m fileMeta) bool {
	switch {
	case w.UID == 0:
		return true
	case uint32(m.UID) == w.UID:
		return m.Mode&0o200 != 0
	case w.inGroup(uint32(m.GID)):
		return m.Mode&0o020 != 0
	}
	return m.Mode&0o002 != 0
}

// planSocket: the immediate owner/mode change of the socket (transient:
// the backend makes a new socket at restart), the durable pool change, and
// search permission on a blocking directory.
func planSocket(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseSocketPermission {
		return nil
	}
	w, ok := workerOf(o, c)
	if !ok {
		return nil
	}
	var out []plan
	if dir := c.Facts.BlockedDir; dir != "" {
		if p, ok := planDir(filesOf(o), c, w, dir); ok {
			out = append(out, p)
		}
	}
	path := c.Facts.Socket
	if path == "" {
		path = strings.TrimPrefix(c.Target, "unix:")
	}
	if !filepath.IsAbs(path) {
		return out
	}
	src := filesOf(o)
	fi, err := src.lstat(path)
	if err != nil || fi.Mode.Type() != fs.ModeSocket {
		return out // a symlink or anything but a socket is never changed
	}
	cur := fileMeta{Mode: fi.Mode.Perm(), UID: int(fi.UID), GID: int(fi.GID)}
	if w.mayWrite(cur) {
		return out
	}
	mc := modeChange{Path: path, Kind: "socket", UID: -1, GID: int(w.GID), Mode: 0o660,
		Owner: userName(cur.UID) + ":" + w.Group}
	immediate := plan{
		Fix: Fix{
			ID: fixID(c.ID, c.Target, "chmod"),
			Title: fmt.Sprintf("Let %s connect now: socket group %s, mode 0660 (was %s:%s %04o)",
				w.Name, w.Group, userName(cur.UID), groupName(cur.GID), cur.Mode),
			Undo:      fmt.Sprintf("ngxdoctor undo puts back %s:%s %04o", userName(cur.UID), groupName(cur.GID), cur.Mode),
			Transient: true,
		},
		modes: []modeChange{mc}, revertible: true,
	}
	durable, ok := e.planPool(o, c, w, path, mc)
	if ok {
		// Transient and Durable say it all; the preview shows both.
		immediate.Durable = durable.ID
	} else {
		immediate.Warning = "No php-fpm pool for this socket was found: set its owner, group and mode " +
			"in the backend's own config (gunicorn's --umask, uwsgi's --chmod-socket, or its systemd unit), or its next restart undoes this"
	}
	out = append(out, immediate)
	if ok {
		out = append(out, durable)
	}
	return out
}

func planDir(src files, c checks.Cause, w worker, dir string) (plan, bool) {
	st, err := src.lstat(dir)
	if err != nil || !st.Mode.IsDir() {
		return plan{}, false
	}
	// The least change: group search when the worker is in the directory's
	// group, else search for everyone (never read, so nothing can be listed).
	bits, mode, who := "o+x", fs.FileMode(0o001), "every local user"
	if w.inGroup(st.GID) {
		bits, mode, who = "g+x", 0o010, "the group "+groupName(int(st.GID))
	}
	return plan{
		Fix: Fix{
			ID:      fixID(c.ID, c.Target, "dir"),
			Title:   fmt.Sprintf("Let %s pass through %s (chmod %s)", w.Name, dir, bits),
			Undo:    fmt.Sprintf("ngxdoctor undo puts back mode %04o on %s", st.Mode.Perm(), dir),
			Warning: fmt.Sprintf("%s may then reach files inside %s whose names it knows", who, dir),
		},
		modes:      []modeChange{{Path: dir, Kind: "dir", UID: -1, GID: -1, Mode: mode, Add: true, Bits: bits}},
		revertible: true,
	}, true
}

var (
	iniSection = regexp.MustCompile(`^\s*\[([^\]]+)\]`)
	iniKey     = regexp.MustCompile(`^(\s*)([A-Za-z0-9_.\[\]]+)(\s*=\s*)(.*?)\s*$`)
)

// poolFiles are the php-fpm files to search: the configured globs, each
// running master's config (from its command line) and that file's include=
// globs. owners maps a file to the master that read it, so the reload goes
// to that php-fpm and not another one on the host.
func (e *Engine) poolFiles(o *checks.Outcome) (files []string, owners map[string]host.Process) {
	seen := map[string]bool{}
	owners = map[string]host.Process{}
	src := filesOf(o)
	add := func(m *host.Process, globs ...string) {
		for _, g := range globs {
			ms := src.glob(g)
			for _, f := range ms {
				if m != nil {
					owners[f] = *m
				}
				if !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	for _, m := range fpmMasters(o) {
		conf := fpmConfig(m)
		if conf == "" {
			continue
		}
		add(&m, conf)
		lines, err := src.readLines(conf)
		if err != nil {
			continue
		}
		for _, l := range lines {
			kv := iniKey.FindStringSubmatch(strings.TrimRight(l, "\r\n"))
			if kv == nil || kv[2] != "include" {
				continue
			}
			g := strings.Trim(kv[4], `"'`)
			if !filepath.IsAbs(g) {
				g = filepath.Join(filepath.Dir(conf), g)
			}
			add(&m, g)
		}
	}
	add(nil, e.PoolGlobs...)
	return files, owners
}

var masterConf = regexp.MustCompile(`master process \(([^)]+)\)`)

// fpmConfig reads a php-fpm master's config path from its command line.
func fpmConfig(p host.Process) string {
	if m := masterConf.FindStringSubmatch(strings.Join(p.Cmdline, " ")); m != nil {
		return m[1]
	}
	for i, a := range p.Cmdline {
		switch {
		case (a == "-y" || a == "--fpm-config") && i+1 < len(p.Cmdline):
			return p.Cmdline[i+1]
		case strings.HasPrefix(a, "--fpm-config="):
			return strings.TrimPrefix(a, "--fpm-config=")
		}
	}
	return ""
}

func fpmMasters(o *checks.Outcome) []host.Process {
	if o == nil || o.Snapshot == nil {
		return nil
	}
	var out []host.Process
	for _, p := range o.Snapshot.Processes {
		cmd := strings.Join(p.Cmdline, " ")
		if strings.HasPrefix(p.Name, "php-fpm") && !strings.Contains(cmd, "pool ") {
			out = append(out, p)
		}
	}
	return out
}

// planPool finds the pool whose listen is this socket and sets its
// listen.owner/group/mode, so the next socket php-fpm makes is right too.
// It applies the immediate change as well: a php-fpm reload keeps the
// socket it already has.
func (e *Engine) planPool(o *checks.Outcome, c checks.Cause, w worker, socket string, mc modeChange) (plan, bool) {
	files, owners := e.poolFiles(o)
	for _, file := range files {
		lines, err := filesOf(o).readLines(file)
		if err != nil {
			continue
		}
		listenAt, start, end := 0, 0, len(lines)
		for i, l := range lines {
			body, _ := cutNL(l)
			if iniSection.MatchString(body) {
				if listenAt > 0 {
					end = i
					break
				}
				start = i + 1
				continue
			}
			if m := iniKey.FindStringSubmatch(body); m != nil && m[2] == "listen" && strings.Trim(m[4], `"'`) == socket {
				listenAt = i + 1
			}
		}
		if listenAt == 0 {
			continue
		}
		want := map[string]string{"listen.owner": w.Name, "listen.group": w.Group, "listen.mode": "0660"}
		// New keys go after the last listen line of the pool, so they read together.
		insertAt := listenAt
		for i := start; i < end; i++ {
			body, _ := cutNL(lines[i])
			if m := iniKey.FindStringSubmatch(body); m != nil && want[m[2]] != "" && i+1 > insertAt {
				insertAt = i + 1
			}
		}
		var edits []Edit
		acl := false
		for _, key := range []string{"listen.owner", "listen.group", "listen.mode"} {
			found := false
			for i := start; i < end; i++ {
				body, _ := cutNL(lines[i])
				m := iniKey.FindStringSubmatch(body)
				if m == nil {
					continue
				}
				if strings.HasPrefix(m[2], "listen.acl_") {
					acl = true
				}
				if m[2] != key {
					continue
				}
				found = true
				if m[4] != want[key] {
					edits = append(edits, lineEdit(file, lines, i+1, body, m[1]+m[2]+m[3]+want[key]))
				}
			}
			if !found {
				edits = append(edits, lineInsert(file, lines, insertAt, key+" = "+want[key]))
			}
		}
		p := plan{
			Fix: Fix{
				ID:    fixID(c.ID, c.Target, "pool"),
				Title: fmt.Sprintf("Set listen.owner/group/mode in %s so every new socket lets %s connect", file, w.Name),
				Undo:  "ngxdoctor undo restores the pool file byte for byte, the socket's owner and mode, and reloads php-fpm",
			},
			edits: edits, modes: []modeChange{mc}, revertible: true,
		}
		if acl {
			p.Warning = "This pool sets listen.acl_users/acl_groups, which php-fpm uses instead of listen.owner/group; check them too"
		}
		master, known := owners[file]
		if !known {
			if ms := fpmMasters(o); len(ms) == 1 {
				master, known = ms[0], true
			}
		}
		if r, ok := e.fpmReload(o, c, master, known); ok {
			p.reloadBackend = &r
		} else {
			p.Warning = strings.TrimPrefix(p.Warning+"; the pool change takes effect when php-fpm restarts", "; ")
		}
		if len(edits) == 0 {
			return plan{}, false
		}
		return p, true
	}
	return plan{}, false
}

var unitName = regexp.MustCompile(`^[A-Za-z0-9:_.@-]+\.service$`)

// fpmReload reloads php-fpm through systemd when it runs, else with
// SIGUSR2 to the master (a graceful reload of the config).
func (e *Engine) fpmReload(o *checks.Outcome, c checks.Cause, master host.Process, known bool) (reloadRef, bool) {
	if e.systemd() {
		unit := c.Facts.Unit
		if unit == "" && o != nil && o.Snapshot != nil {
			unit = o.Snapshot.Units[c.Target].Name
		}
		if unit == "" && known {
			unit = filepath.Base(master.Cgroup)
		}
		if unitName.MatchString(unit) {
			return reloadRef{Argv: []string{"systemctl", "reload", unit}}, true
		}
	}
	if known && master.PID > 0 {
		return reloadRef{PID: int(master.PID), Signal: "USR2", Name: "php-fpm"}, true
	}
	return reloadRef{}, false
}
