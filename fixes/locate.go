package fixes

import (
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// Where a directive goes in the failing location. Inserting into the
// location (rather than editing a line at http level) changes only the
// failing place, never every other server that inherits the line. Every
// position is a directive of the lexer's tree (lexer.go), found by its
// line and name, so a one-line block is found and edited like any other.

// tree parses a config file read through the source.
func (f files) tree(path string) (*confTree, error) {
	data, err := f.read(path)
	if err != nil {
		return nil, err
	}
	return parseConf(data)
}

// placed is a directive found in a parsed file.
type placed struct {
	File string
	Tree *confTree
	D    *directive
}

// directiveAt finds the one directive at pos ("file:line") that match
// accepts; several on the line are told apart by prefer (when it keeps
// exactly one), else none is chosen.
func directiveAt(src files, pos string, match, prefer func(*directive) bool) (placed, bool) {
	file, line, ok := parsePos(pos)
	if !ok {
		return placed{}, false
	}
	t, err := src.tree(file)
	if err != nil {
		return placed{}, false
	}
	ds := t.at(line, match)
	if len(ds) > 1 && prefer != nil {
		var keep []*directive
		for _, d := range ds {
			if prefer(d) {
				keep = append(keep, d)
			}
		}
		ds = keep
	}
	if len(ds) != 1 {
		return placed{}, false
	}
	return placed{File: file, Tree: t, D: ds[0]}, true
}

func isPass(d *directive) bool { return strings.HasSuffix(d.Name, "_pass") }

// namesTargetArg: one of the directive's arguments names the target (a
// pass to an address, or an upstream's server line).
func namesTargetArg(c checks.Cause) func(*directive) bool {
	return func(d *directive) bool {
		for _, a := range d.Args {
			if c.Target != "" && strings.Contains(a, c.Target) {
				return true
			}
		}
		return false
	}
}

// passOf finds the cause's pass directive (proxy_pass, fastcgi_pass, ...):
// at pass_at, unless that names an upstream's server line, else where the
// config's passes say.
func passOf(o *checks.Outcome, c checks.Cause) (placed, bool) {
	at := []string{c.Facts.PassAt}
	if p, ok := passFor(o, c); ok {
		at = append(at, p.At.String())
	}
	for _, pos := range at {
		if p, ok := directiveAt(filesOf(o), pos, isPass, namesTargetArg(c)); ok {
			return p, true
		}
	}
	return placed{}, false
}

// locationOf finds the cause's location block: the location at
// location_at, or the one holding the directives there (the diagnosis may
// give the pass's line), else the location that holds the pass.
func locationOf(o *checks.Outcome, c checks.Cause) (placed, bool) {
	src := filesOf(o)
	if at := c.Facts.LocationAt; at != "" {
		if p, ok := directiveAt(src, at, func(d *directive) bool { return d.Name == "location" && d.Block != nil }, nil); ok {
			return p, true
		}
		if file, line, ok := parsePos(at); ok {
			if t, err := src.tree(file); err == nil {
				var loc *directive
				same := true
				for _, d := range t.at(line, func(*directive) bool { return true }) {
					l := enclosing(d)
					if l == nil || (loc != nil && l != loc) {
						same = false
						break
					}
					loc = l
				}
				if same && loc != nil {
					return placed{File: file, Tree: t, D: loc}, true
				}
			}
		}
	}
	if p, ok := passOf(o, c); ok {
		if loc := enclosing(p.D); loc != nil {
			p.D = loc
			return p, true
		}
	}
	return placed{}, false
}

// setDirective plans one directive's value at the cause's location: the
// directive's own arguments edited in place when it stands in the
// location, else a new directive inserted first in the location (which
// overrides whatever is inherited). Without a location the new directive
// goes right after the pass, in the pass's block.
func setDirective(o *checks.Outcome, c checks.Cause, at string, name string, args ...string) (Edit, bool) {
	loc, haveLoc := locationOf(o, c)
	if haveLoc {
		if at != "" {
			if p, ok := directiveAt(filesOf(o), at, func(d *directive) bool { return d.Name == name }, func(d *directive) bool { return d.Parent == loc.D }); ok && p.File == loc.File && p.D.Parent == loc.D {
				return loc.Tree.setArgs(loc.File, p.D, args...), true
			}
		}
		// One already in the location (the evidence pointed elsewhere):
		// a second would be a duplicate nginx -t rejects.
		for _, d := range loc.D.Block {
			if d.Name == name {
				return loc.Tree.setArgs(loc.File, d, args...), true
			}
		}
		return loc.Tree.insertFirst(loc.File, loc.D, name, args...), true
	}
	p, ok := passOf(o, c)
	if !ok || p.D.Parent == nil {
		return Edit{}, false
	}
	for _, d := range p.D.Parent.Block {
		if d.Name == name {
			return p.Tree.setArgs(p.File, d, args...), true
		}
	}
	return p.Tree.insertAfter(p.File, p.D, name, args...), true
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
