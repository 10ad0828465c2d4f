package fixes

import (
	"fmt"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planAddress points the pass (or upstream server) line at where the
// backend really listens; only the address on that one line changes.
func planAddress(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseWrongAddress || c.Facts.Alternative == "" {
		return nil
	}
	alt := c.Facts.Alternative
	at := c.Facts.PassAt
	if at == "" {
		if p, ok := passFor(o, c); ok {
			at = p.At.String()
		}
	}
	// The address is one argument of one directive on that line (a pass,
	// or an upstream's server): exactly one must name the target.
	file, line, ok := parsePos(at)
	if !ok {
		return nil
	}
	t, err := filesOf(o).tree(file)
	if err != nil {
		return nil
	}
	var ed Edit
	hits := 0
	for _, d := range t.at(line, func(d *directive) bool { return isPass(d) || d.Name == "server" && d.Block == nil }) {
		for i, a := range d.Args {
			if v, ok := replaceAddr(a, c.Target, alt); ok {
				ed = t.setArg(file, d, i, v)
				hits++
			}
		}
	}
	if hits != 1 {
		return nil
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "address"),
			Title: fmt.Sprintf("Point %s at %s, where the backend listens", at, alt),
			Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
		},
		edits: []Edit{ed}, nginxEdits: true, revertible: true,
	}}
}

// replaceAddr swaps the one occurrence of old in a config line for alt,
// minding proxy_pass's unix form (http://unix:/path:/uri, whose socket path
// ends at a colon). Zero or several occurrences refuse the edit.
func replaceAddr(line, old, alt string) (string, bool) {
	idx := -1
	for i := 0; ; {
		j := strings.Index(line[i:], old)
		if j < 0 {
			break
		}
		j += i
		end := j + len(old)
		before := byte(' ')
		if j > 0 {
			before = line[j-1]
		}
		after := byte(';')
		if end < len(line) {
			after = line[end]
		}
		if !addrChar(before) && !addrChar(after) || (after == ':' && strings.HasPrefix(old, "unix:")) {
			if idx >= 0 {
				return "", false
			}
			idx = j
		}
		i = j + 1
	}
	if idx < 0 {
		return "", false
	}
	end := idx + len(old)
	inURL := strings.HasSuffix(line[:idx], "://")
	repl := alt
	oldUnix, altUnix := strings.HasPrefix(old, "unix:"), strings.HasPrefix(alt, "unix:")
	switch {
	case inURL && oldUnix && !altUnix && end < len(line) && line[end] == ':':
		end++ // drop the colon that closed the socket path
	case inURL && altUnix && !oldUnix:
		repl += ":"
	}
	return line[:idx] + repl + line[end:], true
}

func addrChar(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '.' || b == '-' || b == '_' || b == ']' || b == '['
}
