package host

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
)

// Block is where a user is stopped on the way to a file: the directory
// (or the file) and the one permission missing there, with the least
// change that gives it.
type Block struct {
	// Path is the file the user wanted; Dir is what blocks it.
	Path string `json:"path"`
	Dir  string `json:"dir"`
	// Need is "search" (x on a directory), "write" (creating in a
	// directory) or "read" (an existing file).
	Need string `json:"need"`
	// Owner is "user:group" of Dir, Mode its permission bits ("0700").
	Owner string `json:"owner"`
	Mode  string `json:"mode"`
	// Reason says it in a sentence.
	Reason string `json:"reason"`
	// Change is the least change that lets the user through, as argv:
	// ["chmod", "o+x", "/srv/private"] or ["chown", "www-data", dir].
	Change []string `json:"change,omitempty"`
}

// BlockFor finds why u cannot open (create, when it does not exist) the
// file at p: the first directory on the way u may not search, else the
// directory u may not write a new file in, else the file u may not read.
// It never follows symlinks (a link on the way is reported as such) and
// reports false when nothing blocks u by the mode bits.
func BlockFor(sys System, u User, p string) (Block, bool) {
	p = path.Clean(p)
	if !path.IsAbs(p) || u.UID == 0 {
		return Block{}, false
	}
	dir := "/"
	parts := splitPath(p)
	for i, name := range parts {
		fi, err := sys.Lstat(dir)
		if err != nil {
			return Block{}, false
		}
		if !allows(fi, u, 0o1) {
			return block(sys, u, p, dir, fi, "search"), true
		}
		next := path.Join(dir, name)
		nfi, err := sys.Lstat(next)
		last := i == len(parts)-1
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// nginx creates it (a temp file, a cache directory): it needs
			// to write in the deepest directory that exists.
			if !allows(fi, u, 0o2) {
				return block(sys, u, p, dir, fi, "write"), true
			}
			return Block{}, false
		case err != nil:
			return Block{}, false
		case last:
			if nfi.Mode.IsRegular() && !allows(nfi, u, 0o4) {
				return block(sys, u, p, next, nfi, "read"), true
			}
			if nfi.Mode.IsDir() && !allows(nfi, u, 0o1) {
				return block(sys, u, p, next, nfi, "search"), true
			}
			return Block{}, false
		case nfi.Mode&fs.ModeSymlink != 0 || !nfi.Mode.IsDir():
			return Block{}, false // not a plain directory: nothing to say by the bits
		}
		dir = next
	}
	return Block{}, false
}

// allows applies the first class of fi's bits that concerns u.
func allows(fi FileInfo, u User, bit fs.FileMode) bool {
	perm := fi.Mode.Perm()
	switch class(fi, u) {
	case "u":
		return perm&(bit<<6) != 0
	case "g":
		return perm&(bit<<3) != 0
	}
	return perm&bit != 0
}

func class(fi FileInfo, u User) string {
	switch {
	case fi.UID == u.UID:
		return "u"
	case fi.GID == u.GID || slices.Contains(u.Groups, fi.GID):
		return "g"
	}
	return "o"
}

func block(sys System, u User, p, dir string, fi FileInfo, need string) Block {
	b := Block{Path: p, Dir: dir, Need: need, Owner: ownerGroup(sys, fi), Mode: permString(fi.Mode)}
	cl := class(fi, u)
	who := map[string]string{"u": "its owner", "g": "in its group", "o": "neither its owner nor in its group"}[cl]
	b.Reason = fmt.Sprintf("%s (%s %s) does not let %s %s it: %s is %s", dir, b.Owner, b.Mode, u.Name, verb(need), u.Name, who)
	bit := map[string]string{"search": "x", "write": "wx", "read": "r"}[need]
	switch {
	case need == "write" && cl == "o":
		// Never world-writable: nginx's own directories belong to its
		// workers, as nginx makes them when it creates them itself.
		b.Change = []string{"chown", u.Name, dir}
	default:
		b.Change = []string{"chmod", cl + "+" + bit, dir}
	}
	return b
}

func verb(need string) string {
	switch need {
	case "search":
		return "enter (search)"
	case "write":
		return "create files in"
	}
	return "read"
}
