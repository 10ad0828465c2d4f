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

// locationInsert finds where to add a directive to the cause's location:
// after the location's opening line when it ends with '{', else after the
// pass line (always in the same block) with its indentation.
func locationInsert(o *checks.Outcome, c checks.Cause) (insertion, bool) {
	if file, line, ok := parsePos(c.Facts["location_at"]); ok {
		if lines, err := readLines(file); err == nil && line <= len(lines) && opensBlock(lines[line-1]) {
			return insertion{File: file, After: line, Indent: bodyIndent(lines, line)}, true
		}
	}
	at := c.Facts["pass_at"]
	if at == "" {
		if p, ok := passFor(o, c); ok {
			at = p.At.String()
		}
	}
	file, line, ok := parsePos(at)
	if !ok {
		return insertion{}, false
	}
	lines, err := readLines(file)
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
func inLocation(c checks.Cause, pos string) bool {
	file, line, ok := parsePos(pos)
	if !ok {
		return false
	}
	lf, ll, ok := parsePos(c.Facts["location_at"])
	if !ok || lf != file || line <= ll {
		// Without location_at the block's extent is unknown: insert instead.
		return false
	}
	lines, err := readLines(file)
	if err != nil {
		return false
	}
	end := blockEnd(lines, ll)
	return end > line
}

// setDirective plans one directive's value at the cause's location: the
// existing line edited in place when it is inside the location, else a new
// line inserted there (which overrides whatever is inherited).
func setDirective(o *checks.Outcome, c checks.Cause, at string, name string, args ...string) (Edit, bool) {
	if at != "" && inLocation(c, at) {
		file, line, _ := parsePos(at)
		lines, err := readLines(file)
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
