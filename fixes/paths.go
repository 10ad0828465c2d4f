package fixes

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Every file a fix or an undo reads, writes or removes is reached from "/"
// one component at a time with O_NOFOLLOW, holding each directory open, so
// nobody can swap a directory or plant a link between our check and our
// use. A symlink on the way is followed only where nobody but root (or we)
// could have made it, and only when every directory on both the link's path
// and its target's is so too: the Debian sites-enabled -> sites-available
// layout under /etc/nginx.

// trusted: only root or this process's user can change what the directory holds.
func trusted(st *unix.Stat_t) bool {
	return (st.Uid == 0 || int(st.Uid) == os.Geteuid()) && st.Mode&0o022 == 0
}

// holds: nobody but root or us could have put child into parent, or swap
// it: parent is trusted, or it is sticky (/tmp) and child is root's or ours.
func holds(parent, child *unix.Stat_t) bool {
	if trusted(parent) {
		return true
	}
	return parent.Mode&unix.S_ISVTX != 0 && (parent.Uid == 0 || int(parent.Uid) == os.Geteuid()) &&
		(child.Uid == 0 || int(child.Uid) == os.Geteuid())
}

// maxHops bounds the symlinks followed on one path (the kernel's own limit).
const maxHops = 40

// openDir opens the directory at the absolute path dir as described above.
func openDir(dir string) (*os.File, error) { return openDirFrom(dir, false) }

// openDirStrict is openDir requiring what a followed link requires of
// every directory: only root or we could have put each one there.
func openDirStrict(dir string) (*os.File, error) { return openDirFrom(dir, true) }

func openDirFrom(dir string, strict bool) (*os.File, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%s: not an absolute path", dir)
	}
	path, followed := filepath.Clean(dir), strict
	for hops := 0; ; hops++ {
		if hops > maxHops {
			return nil, fmt.Errorf("%s: too many symlinks", dir)
		}
		f, next, err := walkPath(dir, path, followed)
		if err != nil || f != nil {
			return f, err
		}
		// A link: walk its target from the top, now requiring every
		// directory to be trusted. The path is cleaned lexically, which is
		// right because the prefix it is joined to holds no links.
		path, followed = next, true
	}
}

// walkPath walks path; at a symlink it returns the path to walk instead.
func walkPath(dir, path string, followed bool) (*os.File, string, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	allTrusted := true
	parent := st
	real := "/"
	comps := splitPath(path)
	for i, c := range comps {
		nfd, err := unix.Openat(fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(fd)
			return nil, "", &fs.PathError{Op: "open", Path: filepath.Join(real, c), Err: err}
		}
		if err := unix.Fstat(nfd, &st); err != nil {
			unix.Close(nfd)
			unix.Close(fd)
			return nil, "", err
		}
		if !holds(&parent, &st) {
			allTrusted = false
		}
		parent = st
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			unix.Close(fd)
			fd, real = nfd, filepath.Join(real, c)
		case unix.S_IFLNK:
			link := filepath.Join(real, c)
			if !allTrusted {
				unix.Close(nfd)
				unix.Close(fd)
				return nil, "", fmt.Errorf("%s is a symlink where others may write a directory on its path (on the way to %s); refusing to follow it", link, dir)
			}
			target, err := readlinkFD(nfd)
			unix.Close(nfd)
			unix.Close(fd)
			if err != nil {
				return nil, "", &fs.PathError{Op: "readlink", Path: link, Err: err}
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(real, target)
			}
			return nil, filepath.Join(append([]string{target}, comps[i+1:]...)...), nil
		default:
			unix.Close(nfd)
			unix.Close(fd)
			return nil, "", fmt.Errorf("%s: not a directory", filepath.Join(real, c))
		}
	}
	if followed && !allTrusted {
		unix.Close(fd)
		return nil, "", fmt.Errorf("%s: someone other than root or you may change a directory on the way to it; refusing it", dir)
	}
	return os.NewFile(uintptr(fd), real), "", nil
}

func readlinkFD(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(filepath.Clean(p), "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// parentOf opens the directory holding path and returns it with the base name.
func parentOf(path string) (*os.File, string, error) {
	if !filepath.IsAbs(path) {
		return nil, "", fmt.Errorf("%s: not an absolute path", path)
	}
	base := filepath.Base(path)
	if base == "/" || base == "." || base == ".." {
		return nil, "", fmt.Errorf("%s: not a file path", path)
	}
	d, err := openDir(filepath.Dir(path))
	if err != nil {
		return nil, "", err
	}
	return d, base, nil
}

// readAt reads the regular file name in dir, never through a link.
func readAt(dir *os.File, name string) ([]byte, fileMeta, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	p := filepath.Join(dir.Name(), name)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fileMeta{}, fmt.Errorf("%s: is a symlink; refusing to follow it", p)
		}
		return nil, fileMeta{}, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileMeta{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fileMeta{}, fmt.Errorf("%s: not a regular file (%s); refusing to touch it", p, fi.Mode().Type())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fileMeta{}, err
	}
	return data, metaOf(fi), nil
}

// tempMark is in the name of every temp file this package makes, so a
// stale one (a kill between its creation and its rename) is found and
// removed by the next write into that directory.
const tempMark = ".ngxdoctor-tmp-"

func tempName(name string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "." + name + tempMark + hex.EncodeToString(b)
}

// removeStale removes the temp files an earlier, killed run left beside
// name. Fixes and undos hold the journal lock, so none is in use.
func removeStale(dir *os.File, name string) {
	des, err := dir.ReadDir(-1)
	if err != nil {
		// An O_PATH handle cannot list: open the directory itself.
		fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		d := os.NewFile(uintptr(fd), dir.Name())
		des, _ = d.ReadDir(-1)
		d.Close()
	}
	prefix := "." + name + tempMark
	for _, de := range des {
		if strings.HasPrefix(de.Name(), prefix) && de.Type().IsRegular() {
			unix.Unlinkat(int(dir.Fd()), de.Name(), 0)
		}
	}
}

// writeTemp writes data with the owner and mode into a new temp file in dir.
func writeTemp(dir *os.File, name string, data []byte, m fileMeta) (string, error) {
	removeStale(dir, name)
	tmp := tempName(name)
	fd, err := unix.Openat(int(dir.Fd()), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", &fs.PathError{Op: "create", Path: filepath.Join(dir.Name(), tmp), Err: err}
	}
	f := os.NewFile(uintptr(fd), tmp)
	err = func() error {
		if _, err := f.Write(data); err != nil {
			return err
		}
		// Owner first: chown clears setuid/setgid bits, chmod then restores them.
		if err := f.Chown(m.UID, m.GID); err != nil && os.Geteuid() == 0 {
			return err
		}
		if err := f.Chmod(m.Mode); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlinkat(int(dir.Fd()), tmp, 0)
		return "", err
	}
	return tmp, nil
}

// replaceAt puts data at name in dir. With expect nil the file must not
// exist (it is created; one made since the plan is never replaced). Else
// the file must hold exactly expect, compared under the rename: the new
// file is exchanged with the old in one step, the old one's bytes are
// compared, and when someone changed them in the meantime the exchange is
// undone, so no hand edit is ever lost.
func replaceAt(dir *os.File, name string, data []byte, m fileMeta, expect []byte) error {
	p := filepath.Join(dir.Name(), name)
	dfd := int(dir.Fd())
	var st unix.Stat_t
	switch err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s: not a regular file; refusing to replace it", p)
	case err == nil && expect == nil:
		return fmt.Errorf("%s: appeared since the plan; refusing to overwrite it", p)
	case err != nil && !errors.Is(err, unix.ENOENT):
		return &fs.PathError{Op: "stat", Path: p, Err: err}
	case err != nil && expect != nil:
		return fmt.Errorf("%s: %w: it is gone", p, ErrChanged)
	}
	tmp, err := writeTemp(dir, name, data, m)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if expect == nil {
		err := unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// No RENAME_NOREPLACE on this file system: a link never replaces either.
			if err = unix.Linkat(dfd, tmp, dfd, name, 0); err == nil {
				unix.Unlinkat(dfd, tmp, 0)
				done = true
			}
		}
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: appeared since the plan; refusing to overwrite it", p)
		}
		if err != nil {
			return &fs.PathError{Op: "rename", Path: p, Err: err}
		}
		done = true
		syncDir(dir)
		return nil
	}
	if err := unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_EXCHANGE); err == nil {
		// tmp now names the old file.
		old, _, rerr := readAt(dir, tmp)
		if rerr != nil || !bytes.Equal(old, expect) {
			// Someone wrote the file since it was read: put theirs back.
			if xerr := unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_EXCHANGE); xerr != nil {
				done = true // keep their version beside it rather than lose it
				return fmt.Errorf("%s: %w while writing, and putting it back failed (%v): their version is in %s", p, ErrChanged, xerr, tmp)
			}
			return fmt.Errorf("%s: %w while it was being written; left as the other writer saved it", p, ErrChanged)
		}
		syncDir(dir)
		return nil
	} else if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return &fs.PathError{Op: "rename", Path: p, Err: err}
	}
	// No RENAME_EXCHANGE: keep a second name for the old file across the
	// rename, compare it after, and move it back when it changed.
	keep := tempName(name)
	if err := unix.Linkat(dfd, name, dfd, keep, 0); err != nil {
		return &fs.PathError{Op: "link", Path: p, Err: err}
	}
	defer unix.Unlinkat(dfd, keep, 0)
	if cur, _, err := readAt(dir, keep); err != nil || !bytes.Equal(cur, expect) {
		return fmt.Errorf("%s: %w", p, ErrChanged)
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return &fs.PathError{Op: "rename", Path: p, Err: err}
	}
	done = true
	if old, _, err := readAt(dir, keep); err != nil || !bytes.Equal(old, expect) {
		if err := unix.Renameat(dfd, keep, dfd, name); err != nil {
			return fmt.Errorf("%s: %w while writing, and putting it back failed: %v", p, ErrChanged, err)
		}
		return fmt.Errorf("%s: %w while it was being written; left as the other writer saved it", p, ErrChanged)
	}
	syncDir(dir)
	return nil
}

// overwriteAt puts data at name whatever regular file is there now.
func overwriteAt(dir *os.File, name string, data []byte, m fileMeta) error {
	p := filepath.Join(dir.Name(), name)
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: not a regular file; refusing to replace it", p)
	} else if err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	tmp, err := writeTemp(dir, name, data, m)
	if err != nil {
		return err
	}
	if err := unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), name); err != nil {
		unix.Unlinkat(int(dir.Fd()), tmp, 0)
		return &fs.PathError{Op: "rename", Path: p, Err: err}
	}
	syncDir(dir)
	return nil
}

// removeAt removes a regular file, refusing anything else.
func removeAt(dir *os.File, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	p := filepath.Join(dir.Name(), name)
	if err != nil {
		return &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: not a regular file; refusing to remove it", p)
	}
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename survive a crash; best effort.
func syncDir(dir *os.File) {
	if fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		unix.Fsync(fd)
		unix.Close(fd)
	}
}

// readPath, writePath, createPath and removePath are the operations above on a full path.
func readPath(path string) ([]byte, fileMeta, error) {
	d, name, err := parentOf(path)
	if err != nil {
		return nil, fileMeta{}, err
	}
	defer d.Close()
	return readAt(d, name)
}

func replacePath(path string, data []byte, m fileMeta, expect []byte) error {
	d, name, err := parentOf(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return replaceAt(d, name, data, m, expect)
}

func removePath(path string) error {
	d, name, err := parentOf(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return removeAt(d, name)
}
