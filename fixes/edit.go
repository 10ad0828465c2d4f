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

// Edit is one minimal text change to a file:
//   - Line > 0 and Old != "": line Line (1-based, without its newline) must
//     read Old and becomes New (New "" with Old set removes nothing: use
//     it only to replace);
//   - Old == "" and Line >= 0: New is inserted as a new line after Line
//     (0 = at the top);
//   - Line < 0: the file must not exist and is created with New as its
//     whole content.
//
// Line numbers always refer to the file as it was read, so several edits of
// one file do not shift each other.
type Edit struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new"`
}

// ErrChanged means a file no longer reads as it did when the fix was planned.
var ErrChanged = errors.New("file changed since the diagnosis")

// applyEdits returns content with the edits of one file applied.
func applyEdits(content string, edits []Edit) (string, error) {
	lines := splitKeep(content)
	type ins struct {
		after int
		order int
		text  string
	}
	var inserts []ins
	out := append([]string(nil), lines...)
	for i, ed := range edits {
		switch {
		case ed.Line < 0:
			return "", fmt.Errorf("%s: create edit on an existing file", ed.Path)
		case ed.Old != "":
			if ed.Line < 1 || ed.Line > len(lines) {
				return "", fmt.Errorf("%s:%d: %w (no such line)", ed.Path, ed.Line, ErrChanged)
			}
			body, nl := cutNL(lines[ed.Line-1])
			if body != ed.Old {
				return "", fmt.Errorf("%s:%d: %w: want %q, read %q", ed.Path, ed.Line, ErrChanged, ed.Old, body)
			}
			out[ed.Line-1] = ed.New + nl
		default:
			if ed.Line > len(lines) {
				return "", fmt.Errorf("%s:%d: %w (no such line)", ed.Path, ed.Line, ErrChanged)
			}
			inserts = append(inserts, ins{ed.Line, i, ed.New})
		}
	}
	// Insert from the bottom up so earlier line numbers stay valid; several
	// inserts after one line keep their given order.
	sort.SliceStable(inserts, func(a, b int) bool {
		if inserts[a].after != inserts[b].after {
			return inserts[a].after > inserts[b].after
		}
		return inserts[a].order > inserts[b].order
	})
	for _, in := range inserts {
		if in.after > 0 && !strings.HasSuffix(out[in.after-1], "\n") {
			out[in.after-1] += "\n"
		}
		text := in.text + "\n"
		out = append(out[:in.after], append([]string{text}, out[in.after:]...)...)
	}
	return strings.Join(out, ""), nil
}

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
		if ed.Line >= 0 {
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
		if len(eds) == 1 && eds[0].Line < 0 {
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

// Config text helpers. nginx syntax is simple enough to track braces by
// line once comments and quoted strings are skipped.

// braceDelta counts '{' minus '}' on one line outside comments and quotes.
func braceDelta(line string) (open, close int) {
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\\':
			i++
		case c == '"' || c == '\'':
			q = c
		case c == '#':
			return
		case c == '{':
			open++
		case c == '}':
			close++
		}
	}
	return
}

// blockEnd returns the line (1-based) that closes the block opened on line
// start, or 0 when it cannot be found.
func blockEnd(lines []string, start int) int {
	depth, opened := 0, false
	for i := start - 1; i >= 0 && i < len(lines); i++ {
		o, c := braceDelta(lines[i])
		if o > 0 {
			opened = true
		}
		depth += o - c
		if opened && depth <= 0 {
			return i + 1
		}
	}
	return 0
}

// opensBlock: the line's last significant character is '{' (the block's
// body starts on the next line, so an insert after it lands inside).
func opensBlock(line string) bool {
	body, _ := cutNL(line)
	if i := strings.IndexByte(body, '#'); i >= 0 {
		body = body[:i]
	}
	return strings.HasSuffix(strings.TrimSpace(body), "{")
}

func indentOf(line string) string {
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}

// bodyIndent guesses the indentation of a block's body from its first
// non-empty line, else the opening line's plus four spaces.
func bodyIndent(lines []string, open int) string {
	base := indentOf(lines[open-1])
	for i := open; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" {
			continue
		}
		if t == "}" {
			break
		}
		if ind := indentOf(lines[i]); len(ind) > len(base) {
			return ind
		}
		break
	}
	return base + "    "
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

// lineBody returns line n (1-based) without its newline.
func lineBody(lines []string, n int) string {
	if n < 1 || n > len(lines) {
		return ""
	}
	b, _ := cutNL(lines[n-1])
	return b
}

// directiveLine splits a one-directive line "  name arg1 arg2;  # c" into
// its parts; ok is false for anything more complex.
func directiveLine(line string) (indent, name string, args []string, comment string, ok bool) {
	indent = indentOf(line)
	rest := line[len(indent):]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		comment = rest[i:]
		rest = rest[:i]
	}
	rest = strings.TrimRight(rest, " \t")
	if !strings.HasSuffix(rest, ";") || strings.ContainsAny(rest, "{}\"'") {
		return "", "", nil, "", false
	}
	f := strings.Fields(strings.TrimSuffix(rest, ";"))
	if len(f) == 0 || strings.Count(rest, ";") != 1 {
		return "", "", nil, "", false
	}
	return indent, f[0], f[1:], comment, true
}

// setDirectiveLine rewrites a one-directive line with new arguments,
// keeping its indentation and trailing comment.
func setDirectiveLine(line string, args ...string) (string, bool) {
	indent, name, _, comment, ok := directiveLine(line)
	if !ok {
		return "", false
	}
	s := indent + name + " " + strings.Join(args, " ") + ";"
	if comment != "" {
		s += " " + comment
	}
	return s, true
}
