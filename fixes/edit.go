package fixes

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	udiff "github.com/aymanbagabas/go-udiff"
)

// Edit is one minimal change to a file's bytes:
//   - Create: the file must not exist and is created with New as its
//     whole content;
//   - else the bytes at Off must read Old, and they become New (an insert
//     when Old is "").
//
// Offsets always refer to the file as it was read, so several edits of one
// file do not shift each other; config edits come from the lexer
// (lexer.go), which gives each directive's bytes in any layout.
type Edit struct {
	Path   string `json:"path"`
	Off    int    `json:"off"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new"`
	Create bool   `json:"create,omitempty"`
}

// ErrChanged means a file no longer reads as it did when the fix was planned.
var ErrChanged = errors.New("file changed since the diagnosis")

// applyEdits returns content with the edits of one file applied. Edits
// may not overlap; several inserts at one offset keep their given order.
func applyEdits(content string, edits []Edit) (string, error) {
	idx := make([]int, len(edits))
	for i := range idx {
		idx[i] = i
	}
	for _, ed := range edits {
		if ed.Create {
			return "", fmt.Errorf("%s: create edit on an existing file", ed.Path)
		}
		if ed.Off < 0 || ed.Off+len(ed.Old) > len(content) {
			return "", fmt.Errorf("%s: byte %d: %w (the file is shorter)", ed.Path, ed.Off, ErrChanged)
		}
		if got := content[ed.Off : ed.Off+len(ed.Old)]; got != ed.Old {
			return "", fmt.Errorf("%s:%d: %w: want %q, read %q", ed.Path, lineOf(content, ed.Off), ErrChanged, ed.Old, got)
		}
	}
	// From the end backwards, so earlier offsets stay valid.
	sort.SliceStable(idx, func(a, b int) bool {
		ea, eb := edits[idx[a]], edits[idx[b]]
		if ea.Off != eb.Off {
			return ea.Off > eb.Off
		}
		return idx[a] > idx[b]
	})
	out := content
	limit := len(content) + 1
	for _, i := range idx {
		ed := edits[i]
		end := ed.Off + len(ed.Old)
		if end > limit || (end == limit && ed.Old != "") {
			return "", fmt.Errorf("%s: overlapping edits at byte %d", ed.Path, ed.Off)
		}
		out = out[:ed.Off] + ed.New + out[end:]
		limit = ed.Off
		if ed.Old == "" {
			limit = ed.Off + 1 // another insert at the same offset is fine
		}
	}
	return out, nil
}

// lineOf is the 1-based line of byte off.
func lineOf(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return strings.Count(s[:off], "\n") + 1
}

// lineEdit replaces line n (1-based, without its newline) of a file read
// as lines: for line-based files such as php-fpm's ini files.
func lineEdit(path string, lines []string, n int, old, repl string) Edit {
	off := 0
	for _, l := range lines[:n-1] {
		off += len(l)
	}
	return Edit{Path: path, Off: off, Old: old, New: repl}
}

// lineInsert adds text as a new line after line n (0 = at the top).
func lineInsert(path string, lines []string, n int, text string) Edit {
	off := 0
	for _, l := range lines[:n] {
		off += len(l)
	}
	if n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
		return Edit{Path: path, Off: off, New: "\n" + text}
	}
	return Edit{Path: path, Off: off, New: text + "\n"}
}

// fileChange is the planned new content of one file. Path is the file
// written; Link is the config path that named it when that is a symlink.
type fileChange struct {
	Path   string
	Link   string
	Before string
	After  string
	Create bool
}

// planFiles reads each edited file through src and computes its new
// content; the diff shown in the preview comes from the result.
func planFiles(src files, edits []Edit) ([]fileChange, error) {
	var order []string
	by := map[string][]Edit{}
	link := map[string]string{}
	for _, ed := range edits {
		if !filepath.IsAbs(ed.Path) {
			return nil, fmt.Errorf("%s: not an absolute path", ed.Path)
		}
		p := ed.Path
		if !ed.Create {
			r, err := src.resolve(ed.Path)
			if err != nil {
				return nil, err
			}
			if r != ed.Path {
				link[r] = ed.Path
			}
			p = r
		}
		if _, ok := by[p]; !ok {
			order = append(order, p)
		}
		by[p] = append(by[p], ed)
	}
	var out []fileChange
	for _, p := range order {
		eds := by[p]
		if len(eds) == 1 && eds[0].Create {
			if src.exists(p) {
				return nil, fmt.Errorf("%s: already exists; refusing to overwrite it", p)
			}
			out = append(out, fileChange{Path: p, After: eds[0].New, Create: true})
			continue
		}
		data, err := src.read(p)
		if err != nil {
			return nil, err
		}
		after, err := applyEdits(string(data), eds)
		if err != nil {
			return nil, err
		}
		out = append(out, fileChange{Path: p, Link: link[p], Before: string(data), After: after})
	}
	return out, nil
}

// unifiedDiff is the preview of every file change.
func unifiedDiff(changes []fileChange) string {
	var b strings.Builder
	for _, c := range changes {
		from := c.Path
		if c.Create {
			from = "/dev/null"
		}
		b.WriteString(udiff.Unified(from, c.Path, c.Before, c.After))
	}
	return b.String()
}

// fileMeta is what must survive a rewrite: the mode and the owner.
type fileMeta struct {
	Mode fs.FileMode `json:"mode"`
	UID  int         `json:"uid"`
	GID  int         `json:"gid"`
}

// readNoFollow reads a regular file, refusing a symlink or anything else
// (a path from a config could point anywhere); the directories on the way
// are walked as paths.go says.
func readNoFollow(path string) ([]byte, fileMeta, error) { return readPath(path) }

func metaOf(fi fs.FileInfo) fileMeta {
	m := fileMeta{Mode: fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.UID, m.GID = int(st.Uid), int(st.Gid)
	}
	return m
}

// writeAtomic replaces path with data whatever it holds now (journal
// records, backups): a temp file in the same directory with the given
// owner and mode, synced, renamed over the old one. A symlink or a
// non-regular file at path is refused, never replaced.
func writeAtomic(path string, data []byte, m fileMeta) error {
	d, name, err := parentOf(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return overwriteAt(d, name, data, m)
}

// swapAtomic replaces path with data only when it still holds expect,
// compared under the rename (replaceAt).
func swapAtomic(path string, data, expect []byte, m fileMeta) error {
	if expect == nil {
		expect = []byte{}
	}
	return replacePath(path, data, m, expect)
}

// createAtomic is writeAtomic for a file that must not exist yet: the final
// rename refuses to replace one made since the plan checked.
func createAtomic(path string, data []byte, m fileMeta) error {
	return replacePath(path, data, m, nil)
}

// removeRegular removes a file this tool created, refusing anything else.
func removeRegular(path string) error { return removePath(path) }

// splitKeep splits after each newline, keeping it (a missing final newline stays missing).
func splitKeep(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func cutNL(line string) (body, nl string) {
	if strings.HasSuffix(line, "\r\n") {
		return line[:len(line)-2], "\r\n"
	}
	if strings.HasSuffix(line, "\n") {
		return line[:len(line)-1], "\n"
	}
	return line, ""
}

// parsePos reads "file:line" as used in Facts.
func parsePos(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 {
		return "", 0, false
	}
	return s[:i], n, true
}
