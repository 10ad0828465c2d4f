package fixes

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// files is where planning reads: the snapshot's System, so a replayed
// incident (the demo) plans the same fixes as the live host did; or the
// live host when there is no snapshot. Applying always re-reads the live
// files and refuses when they differ from what was planned.
type files struct{ sys host.System }

func filesOf(o *checks.Outcome) files {
	if o != nil && o.Snapshot != nil && o.Snapshot.Sys != nil {
		return files{o.Snapshot.Sys}
	}
	return files{}
}

func (f files) lstat(p string) (host.FileInfo, error) {
	if f.sys != nil {
		return f.sys.Lstat(p)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return host.FileInfo{}, err
	}
	info := host.FileInfo{Path: p, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.UID, info.GID = st.Uid, st.Gid
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		info.Target, _ = os.Readlink(p)
	}
	return info, nil
}

func (f files) glob(pattern string) []string {
	var ms []string
	if f.sys != nil {
		ms, _ = f.sys.Glob(pattern)
	} else {
		ms, _ = filepath.Glob(pattern)
	}
	return ms
}

func (f files) euid() int {
	if f.sys != nil {
		return f.sys.Euid()
	}
	return os.Geteuid()
}

// resolve returns the file to edit for a config path. A regular file is
// itself. A symlink (sites-enabled/app -> ../sites-available/app, the
// Debian layout) is resolved one level, and only when both the link's
// directory and the target's are writable by root (or us) alone: then only
// they could have made the link, and nginx itself reads the target. A chain
// of links, a link in a directory others may write, or anything that is not
// a regular file is refused.
func (f files) resolve(p string) (string, error) {
	fi, err := f.lstat(p)
	if err != nil {
		return "", err
	}
	if fi.Mode.IsRegular() {
		return p, nil
	}
	if fi.Mode&fs.ModeSymlink == 0 {
		return "", fmt.Errorf("%s: not a regular file (%s); refusing to touch it", p, fi.Mode.Type())
	}
	t := fi.Target
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(p), t)
	}
	t = filepath.Clean(t)
	ti, err := f.lstat(t)
	if err != nil {
		return "", fmt.Errorf("%s: symlink to %s: %w", p, t, err)
	}
	if !ti.Mode.IsRegular() {
		return "", fmt.Errorf("%s: symlink to %s, which is not a regular file; refusing to follow it", p, t)
	}
	for _, d := range []string{filepath.Dir(p), filepath.Dir(t)} {
		if bad := f.untrustedOnPath(d); bad != "" {
			return "", fmt.Errorf("%s: symlink in or into %s, and others may write %s; refusing to follow it", p, d, bad)
		}
	}
	return t, nil
}

// untrustedOnPath is the first directory from d up to "/" that someone
// other than root or us could change ("" when there is none); a sticky
// directory (/tmp) is fine above a directory of root's or ours.
func (f files) untrustedOnPath(d string) string {
	var child *host.FileInfo
	for {
		di, err := f.lstat(d)
		if err != nil || !di.Mode.IsDir() {
			return d
		}
		ours := func(uid uint32) bool { return uid == 0 || int(uid) == f.euid() }
		ok := ours(di.UID) && di.Mode.Perm()&0o022 == 0
		if !ok && child != nil && di.Mode&fs.ModeSticky != 0 && ours(di.UID) && ours(child.UID) {
			ok = true
		}
		if !ok {
			return d
		}
		if d == "/" {
			return ""
		}
		child = &di
		d = filepath.Dir(d)
	}
}

// read reads a config file (resolved as above) through the source.
func (f files) read(p string) ([]byte, error) {
	r, err := f.resolve(p)
	if err != nil {
		return nil, err
	}
	if f.sys == nil {
		data, _, err := readNoFollow(r)
		return data, err
	}
	fh, err := f.sys.Open(r)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.NewSectionReader(fh, 0, fh.Size()))
}

// readLines reads a config file as lines with their newlines.
func (f files) readLines(p string) ([]string, error) {
	data, err := f.read(p)
	if err != nil {
		return nil, err
	}
	return splitKeep(string(data)), nil
}

func (f files) exists(p string) bool {
	_, err := f.lstat(p)
	return err == nil
}
