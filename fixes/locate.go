package fixes

import (
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// Where a directive goes in the failing location. Inserting into the
// location (rather than editing a line at http level) changes only the
// failing place, never every other server that inherits the line.

// insertion is a place to add a directive line.
type insertion struct {
	File   string
	After  int
	Indent string
}

// locationOpen finds the line that opens the cause's location block:
// location_at when it names one, else the nearest enclosing "location"
// above the pass line (the diagnosis may give the pass line as location_at).
func locationOpen(o *checks.Outcome, c checks.Cause) (string, int, []string, bool) {
	for _, at := range []string{c.Facts.LocationAt, passAt(o, c)} {
		file, line, ok := parsePos(at)
		if !ok {
			continue
		}
		lines, err := filesOf(o).readLines(file)
		if err != nil || line > len(lines) {
			continue
		}
		if opensBlock(lines[line-1]) && isLocation(lines[line-1]) {
			return file, line, lines, true
		}
		if open := enclosingLocation(lines, line); open > 0 {
			return file, open, lines, true
		}
	}
	return "", 0, nil, false
}

func passAt(o *checks.Outcome, c checks.Cause) string {
	if at := c.Facts.PassAt; at != "" {
		return at
	}
	if p, ok := passFor(o, c); ok {
		return p.At.String()
	}
	return ""
}

func isLocation(line string) bool {
	f := strings.Fields(line)
	return len(f) > 0 && f[0] == "location"
}

// enclosingLocation walks up from line to the "location ... {" line whose
// block holds it (skipping if/limit_except blocks, where most settings are
// not allowed), or 0.
func enclosingLocation(lines []string, line int) int {
	depth := 0
	for i := line - 2; i >= 0; i-- {
		o, c := braceDelta(lines[i])
		depth += c - o
		if depth < 0 {
			if isLocation(lines[i]) && opensBlock(lines[i]) {
				return i + 1
			}
			depth = 0 // an inner block (if): keep walking up to its location
		}
	}
	return 0
}

// locationInsert finds where to add a directive to the cause's location:
// after the location's opening line, with its body's indentation; else
// after the pass line (always in the same block) with its indentation.
func locationInsert(o *checks.Outcome, c checks.Cause) (insertion, bool) {
	if file, open, lines, ok := locationOpen(o, c); ok {
		return insertion{File: file, After: open, Indent: bodyIndent(lines, open)}, true
	}
	file, line, ok := parsePos(passAt(o, c))
	if !ok {
		return insertion{}, false
	}
	lines, err := filesOf(o).readLines(file)
	if err != nil || line > len(lines) {
		return insertion{}, false
	}
	indent, _, _, _, ok := directiveLine(lineBody(lines, line))
	if !ok {
		return insertion{}, false
	}
	return insertion{File: file, After: line, Indent: indent}, true
}

// inLocation: the directive at pos stands inside the cause's location
// block, so editing it there changes nothing else.
func inLocation(o *checks.Outcome, c checks.Cause, pos string) bool {
	file, line, ok := parsePos(pos)
	if !ok {
		return false
	}
	lf, open, lines, ok := locationOpen(o, c)
	if !ok || lf != file || line <= open {
		return false
	}
	return blockEnd(lines, open) > line
}

// setDirective plans one directive's value at the cause's location: the
// existing line edited in place when it is inside the location, else a new
// line inserted there (which overrides whatever is inherited).
func setDirective(o *checks.Outcome, c checks.Cause, at string, name string, args ...string) (Edit, bool) {
	if at != "" && inLocation(o, c, at) {
		file, line, _ := parsePos(at)
		lines, err := filesOf(o).readLines(file)
		if err != nil {
			return Edit{}, false
		}
		old := lineBody(lines, line)
		if _, n, _, _, ok := directiveLine(old); !ok || n != name {
			return Edit{}, false
		}
		nl, ok := setDirectiveLine(old, args...)
		if !ok {
			return Edit{}, false
		}
		return Edit{Path: file, Line: line, Old: old, New: nl}, true
	}
	ins, ok := locationInsert(o, c)
	if !ok {
		return Edit{}, false
	}
	return Edit{Path: ins.File, Line: ins.After, New: ins.Indent + name + " " + strings.Join(args, " ") + ";"}, true
}

// settingAt is where the pass's settings say a directive is set ("" when
// it is nginx's default).
func settingAt(o *checks.Outcome, c checks.Cause, name string) (args []string, at string) {
	p, ok := passFor(o, c)
	if !ok {
		return nil, ""
	}
	d, ok := p.Settings.Get(name)
	if !ok {
		return nil, ""
	}
	return d.Args, d.At.String()
}
