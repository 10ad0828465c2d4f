package host

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// maxSymlinks is the kernel's own limit on links followed in one lookup.
const maxSymlinks = 40

// CanConnect reports whether user u may connect to the unix socket at path,
// by the rules the kernel applies: search (x) on every directory walked and
// write on the socket, each judged by the owner, group or other bits (the
// first class that applies, not the most generous). ACLs and capabilities
// other than root's are not considered. reason names the owner, group and
// mode that decided; blockedDir is the directory that stops u, if one does.
func CanConnect(sys System, u User, sockPath string) (ok bool, reason string, blockedDir string) {
	if !path.IsAbs(sockPath) {
		return false, fmt.Sprintf("%s is not an absolute path", sockPath), ""
	}
	rest := splitPath(sockPath)
	dir := "/"
	var links []string
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case ".":
			continue
		case "..":
			// Walking up still needs search permission here first.
			if ok, why := may(sys, u, dir, 0o1); !ok {
				return false, why, dir
			}
			dir = path.Dir(dir)
			continue
		}
		if ok, why := may(sys, u, dir, 0o1); !ok {
			return false, why, dir
		}
		p := path.Join(dir, name)
		fi, err := sys.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Sprintf("%s does not exist", p) + via(links), ""
			}
			return false, fmt.Sprintf("cannot inspect %s: %v", p, err), ""
		}
		if fi.Mode&fs.ModeSymlink != 0 {
			// connect(2) follows symlinks, so the walk does too, by hand, to
			// judge each directory on the way to the target.
			if len(links) >= maxSymlinks {
				return false, fmt.Sprintf("too many levels of symlinks at %s", p), ""
			}
			if fi.Target == "" {
				return false, fmt.Sprintf("cannot read the symlink %s", p), ""
			}
			links = append(links, p+" -> "+fi.Target)
			target := splitPath(fi.Target)
			if path.IsAbs(fi.Target) {
				dir = "/"
			}
			rest = append(target, rest...)
			continue
		}
		if len(rest) > 0 {
			if !fi.Mode.IsDir() {
				return false, fmt.Sprintf("%s is a %s, not a directory", p, kindOf(fi.Mode)) + via(links), ""
			}
			dir = p
			continue
		}
		// The last component: the socket itself.
		if fi.Mode&fs.ModeSocket == 0 {
			return false, fmt.Sprintf("%s is a %s, not a socket", p, kindOf(fi.Mode)) + via(links), ""
		}
		if ok, why := may(sys, u, p, 0o2); !ok {
			return false, why + via(links), ""
		}
		return true, fmt.Sprintf("%s may connect: socket %s %s", u.Name, ownerGroup(sys, fi), permString(fi.Mode)) + via(links), ""
	}
	return false, fmt.Sprintf("%s names a directory, not a socket", sockPath), ""
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func via(links []string) string {
	if len(links) == 0 {
		return ""
	}
	return " (via symlink " + strings.Join(links, ", ") + ")"
}

func permString(m fs.FileMode) string {
	return fmt.Sprintf("%04o", uint32(m.Perm()))
}

func ownerGroup(sys System, fi FileInfo) string {
	return userName(sys, fi.UID) + ":" + groupName(sys, fi.GID)
}

func userName(sys System, uid uint32) string {
	if u, err := sys.LookupUserID(uid); err == nil {
		return u.Name
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func groupName(sys System, gid uint32) string {
	if n, err := sys.LookupGroupID(gid); err == nil {
		return n
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// may checks one permission bit (1 = search/execute, 2 = write) on p for u.
func may(sys System, u User, p string, bit fs.FileMode) (bool, string) {
	fi, err := sys.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Sprintf("%s does not exist", p)
		}
		return false, fmt.Sprintf("cannot inspect %s: %v", p, err)
	}
	if u.UID == 0 {
		return true, ""
	}
	perm := fi.Mode.Perm()
	kind, verb := "directory "+p, "search it"
	if bit == 0o2 {
		kind, verb = "socket", "write to it"
	}
	desc := fmt.Sprintf("%s %s %s", kind, ownerGroup(sys, fi), permString(fi.Mode))
	switch {
	case fi.UID == u.UID:
		if perm&(bit<<6) != 0 {
			return true, ""
		}
		return false, fmt.Sprintf("%s; the owner %s may not %s", desc, u.Name, verb)
	case fi.GID == u.GID || slices.Contains(u.Groups, fi.GID):
		if perm&(bit<<3) != 0 {
			return true, ""
		}
		return false, fmt.Sprintf("%s; %s is in group %s, which may not %s", desc, u.Name, groupName(sys, fi.GID), verb)
	default:
		if perm&bit != 0 {
			return true, ""
		}
		return false, fmt.Sprintf("%s; %s is not the owner and not in group %s", desc, u.Name, groupName(sys, fi.GID))
	}
}
