package fixes

import (
	"fmt"
	"strings"
)

// The config editor works on tokens, not lines: a lexer that follows
// nginx's own rules (ngx_conf_read_token) and keeps every token's byte
// offsets, so an edit replaces or inserts exactly the bytes of one
// directive whatever the layout: one-line blocks, several directives on a
// line, comments, quoted arguments.

// token is one word of a config file, or one of ";", "{", "}".
type token struct {
	// Value is the word as nginx reads it: quotes removed, \" \' \\ \t \r \n unescaped.
	Value string
	// Start and End are its bytes in the file (quotes included).
	Start, End int
	Line       int
	Quoted     bool
	// Punct is ';', '{' or '}' for those tokens, else 0.
	Punct byte
}

// lexConf splits a config file into tokens. Like nginx: whitespace ends a
// word, and so do ';' and '{' (but not '}', which nginx keeps inside a
// word); '#' starts a comment only where a word could start; a quote opens
// a string only at the start of a word and must be followed by whitespace,
// ';' or '{'; a backslash escapes the next byte; "${" keeps its brace.
func lexConf(data []byte) ([]token, error) {
	var out []token
	line := 1
	n := len(data)
	for i := 0; i < n; {
		c := data[i]
		switch c {
		case '\n':
			line++
			i++
			continue
		case ' ', '\t', '\r':
			i++
			continue
		case '#':
			for i < n && data[i] != '\n' {
				i++
			}
			continue
		case ';', '{', '}':
			out = append(out, token{Value: string(c), Start: i, End: i + 1, Line: line, Punct: c})
			i++
			if c == '{' && luaBlock(out) {
				// ngx_lua reads its *_by_lua_block body as Lua, not as
				// nginx syntax: skip to the brace that closes it.
				end, lines, ok := skipLua(data, i)
				if !ok {
					return nil, fmt.Errorf("line %d: unterminated Lua block", line)
				}
				line += lines
				out = append(out, token{Value: "}", Start: end, End: end + 1, Line: line, Punct: '}'})
				i = end + 1
			}
			continue
		case '"', '\'':
			start, startLine := i, line
			var b strings.Builder
			i++
			closed := false
			for i < n {
				ch := data[i]
				if ch == '\\' && i+1 < n {
					b.WriteString(unescape(data[i+1]))
					if data[i+1] == '\n' {
						line++
					}
					i += 2
					continue
				}
				if ch == '\n' {
					line++
				}
				if ch == c {
					closed = true
					i++
					break
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("line %d: unexpected end of file, expecting %c", startLine, c)
			}
			if i < n {
				switch data[i] {
				case ' ', '\t', '\r', '\n', ';', '{', ')':
				default:
					return nil, fmt.Errorf("line %d: unexpected %q after a quoted string", line, data[i])
				}
			}
			out = append(out, token{Value: b.String(), Start: start, End: i, Line: startLine, Quoted: true})
			continue
		}
		// A bare word.
		start, startLine := i, line
		var b strings.Builder
		variable := false
	word:
		for i < n {
			ch := data[i]
			if ch == '{' && variable {
				b.WriteByte(ch)
				i++
				continue
			}
			variable = false
			switch ch {
			case ' ', '\t', '\r', '\n', ';', '{':
				break word
			case '\\':
				if i+1 < n {
					b.WriteString(unescape(data[i+1]))
					if data[i+1] == '\n' {
						line++
					}
					i += 2
					continue
				}
			case '$':
				variable = true
			}
			b.WriteByte(ch)
			i++
		}
		out = append(out, token{Value: b.String(), Start: start, End: i, Line: startLine})
	}
	return out, nil
}

// luaBlock: the '{' just lexed opens a *_by_lua_block directive's body.
func luaBlock(toks []token) bool {
	j := len(toks) - 2
	for j >= 0 && toks[j].Punct == 0 {
		j--
	}
	return j+1 < len(toks)-1 && strings.HasSuffix(toks[j+1].Value, "_by_lua_block") && !toks[j+1].Quoted
}

// skipLua finds the '}' that closes a Lua block body starting at i,
// skipping Lua strings, long brackets and comments; it returns its offset
// and the newlines passed.
func skipLua(data []byte, i int) (int, int, bool) {
	depth, lines := 1, 0
	longEnd := func(j int) (int, bool) { // data[j] == '[': a long bracket [==[ ... ]==]
		k := j + 1
		for k < len(data) && data[k] == '=' {
			k++
		}
		if k >= len(data) || data[k] != '[' {
			return j, false
		}
		closeTok := "]" + strings.Repeat("=", k-j-1) + "]"
		rest := string(data[k+1:])
		e := strings.Index(rest, closeTok)
		if e < 0 {
			return len(data), true
		}
		lines += strings.Count(rest[:e], "\n")
		return k + 1 + e + len(closeTok), true
	}
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\n':
			lines++
			i++
		case c == '-' && i+1 < len(data) && data[i+1] == '-':
			i += 2
			if i < len(data) && data[i] == '[' {
				if e, ok := longEnd(i); ok {
					i = e
					continue
				}
			}
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			i++
			for i < len(data) && data[i] != c && data[i] != '\n' {
				if data[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '[':
			if e, ok := longEnd(i); ok {
				i = e
				continue
			}
			i++
		case c == '{':
			depth++
			i++
		case c == '}':
			depth--
			if depth == 0 {
				return i, lines, true
			}
			i++
		default:
			i++
		}
	}
	return 0, 0, false
}

// unescape is what nginx makes of a backslash and the byte after it.
func unescape(c byte) string {
	switch c {
	case '"', '\'', '\\':
		return string(c)
	case 't':
		return "\t"
	case 'r':
		return "\r"
	case 'n':
		return "\n"
	}
	return "\\" + string(c)
}

// directive is one directive of a file with the bytes it spans.
type directive struct {
	Name string
	Args []string
	// Toks are the name and argument tokens.
	Toks []token
	// End is the offset just past the ';' or, for a block, the '}'.
	End int
	// Open and Close are the offsets of a block's '{' and '}' (Block non-nil).
	Open, Close int
	Block       []*directive
	Parent      *directive
	Line        int
}

// Start is the offset of the directive's name.
func (d *directive) Start() int { return d.Toks[0].Start }

// ArgsEnd is the offset just past the last argument (or the name).
func (d *directive) ArgsEnd() int { return d.Toks[len(d.Toks)-1].End }

// confTree is a parsed file: its top-level directives and its bytes.
type confTree struct {
	Data []byte
	Top  []*directive
}

// parseConf builds the directive tree of one file (includes are not
// followed: each file is edited on its own).
func parseConf(data []byte) (*confTree, error) {
	toks, err := lexConf(data)
	if err != nil {
		return nil, err
	}
	t := &confTree{Data: data}
	var stack []*directive
	var cur []token
	add := func(d *directive) {
		if len(stack) > 0 {
			p := stack[len(stack)-1]
			d.Parent = p
			p.Block = append(p.Block, d)
		} else {
			t.Top = append(t.Top, d)
		}
	}
	for _, tk := range toks {
		switch tk.Punct {
		case ';', '{':
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: unexpected %q", tk.Line, tk.Value)
			}
			d := &directive{Name: cur[0].Value, Toks: cur, Line: cur[0].Line}
			for _, a := range cur[1:] {
				d.Args = append(d.Args, a.Value)
			}
			cur = nil
			add(d)
			if tk.Punct == ';' {
				d.End = tk.End
			} else {
				d.Open = tk.Start
				d.Block = []*directive{}
				stack = append(stack, d)
			}
		case '}':
			if len(cur) != 0 {
				return nil, fmt.Errorf("line %d: unexpected \"}\"", tk.Line)
			}
			if len(stack) == 0 {
				return nil, fmt.Errorf("line %d: unexpected \"}\"", tk.Line)
			}
			d := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			d.Close, d.End = tk.Start, tk.End
		default:
			cur = append(cur, tk)
		}
	}
	if len(cur) != 0 {
		return nil, fmt.Errorf("unexpected end of file, expecting \";\" or \"}\"")
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("unexpected end of file, expecting \"}\"")
	}
	return t, nil
}

// walk calls fn on every directive, depth first, in file order.
func (t *confTree) walk(fn func(*directive)) {
	var rec func([]*directive)
	rec = func(ds []*directive) {
		for _, d := range ds {
			fn(d)
			if d.Block != nil {
				rec(d.Block)
			}
		}
	}
	rec(t.Top)
}

// at returns the directives named name (any name when "") whose name
// token is on line.
func (t *confTree) at(line int, match func(*directive) bool) []*directive {
	var out []*directive
	t.walk(func(d *directive) {
		if d.Line == line && match(d) {
			out = append(out, d)
		}
	})
	return out
}

// enclosing is the nearest location block holding d (if blocks, where
// most settings are not allowed, are skipped), or nil.
func enclosing(d *directive) *directive {
	for p := d.Parent; p != nil; p = p.Parent {
		if p.Name == "location" {
			return p
		}
	}
	return nil
}

// quoteArg writes an argument so nginx reads it back as v: bare when it
// can be, else in double quotes with the quote and backslash escaped.
func quoteArg(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n;{}\"'\\#") && !strings.Contains(v, "${") {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// setArgs is the edit that gives d the arguments args: the bytes from the
// end of its name to its ';' become " arg1 arg2", so a comment or another
// directive on the same line stays as it is.
func (t *confTree) setArgs(path string, d *directive, args ...string) Edit {
	from, to := d.Toks[0].End, d.End-1
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteArg(a)
	}
	return Edit{Path: path, Off: from, Old: string(t.Data[from:to]), New: " " + strings.Join(q, " ")}
}

// setArg is the edit that replaces one argument's bytes (quotes included).
func (t *confTree) setArg(path string, d *directive, i int, v string) Edit {
	tk := d.Toks[i+1]
	nv := quoteArg(v)
	if tk.Quoted && nv == v {
		// Keep the file's own quoting where it still reads the same.
		nv = string(t.Data[tk.Start]) + v + string(t.Data[tk.Start])
		if strings.ContainsAny(v, `\`+string(t.Data[tk.Start])) {
			nv = quoteArg(v)
		}
	}
	return Edit{Path: path, Off: tk.Start, Old: string(t.Data[tk.Start:tk.End]), New: nv}
}

// insertFirst is the edit that adds "name args;" as the first directive
// of block b: on a line of its own with the block's indentation when the
// block's body starts on the next line, else right after the '{' on the
// same line (a one-line block stays one line).
func (t *confTree) insertFirst(path string, b *directive, name string, args ...string) Edit {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteArg(a)
	}
	text := name + " " + strings.Join(q, " ") + ";"
	data := t.Data
	i := b.Open + 1
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r') {
		i++
	}
	if i < len(data) && data[i] == '#' {
		for i < len(data) && data[i] != '\n' {
			i++
		}
	}
	if i < len(data) && data[i] == '\n' {
		// The body starts on a later line: a line of our own after this one.
		return Edit{Path: path, Off: i + 1, New: t.bodyIndent(b) + text + "\n"}
	}
	if i >= len(data) {
		return Edit{Path: path, Off: len(data), New: "\n" + t.bodyIndent(b) + text + "\n"}
	}
	return Edit{Path: path, Off: b.Open + 1, New: " " + text}
}

// bodyIndent is the indentation of the block's first directive that starts
// a line, else the block's own line's plus four spaces.
func (t *confTree) bodyIndent(b *directive) string {
	for _, d := range b.Block {
		if ind, ok := t.lineIndent(d.Start()); ok {
			return ind
		}
	}
	ind, _ := t.lineIndent(b.Start())
	return ind + "    "
}

// lineIndent is the whitespace before off on its line; ok when nothing
// else comes before it there.
func (t *confTree) lineIndent(off int) (string, bool) {
	i := off
	for i > 0 && (t.Data[i-1] == ' ' || t.Data[i-1] == '\t') {
		i--
	}
	return string(t.Data[i:off]), i == 0 || t.Data[i-1] == '\n'
}

// insertAfter is the edit that adds "name args;" right after d: on a line
// of its own with d's indentation when d ends its line, else on d's line.
func (t *confTree) insertAfter(path string, d *directive, name string, args ...string) Edit {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteArg(a)
	}
	text := name + " " + strings.Join(q, " ") + ";"
	data := t.Data
	i := d.End
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r') {
		i++
	}
	if i < len(data) && data[i] == '#' {
		for i < len(data) && data[i] != '\n' {
			i++
		}
	}
	if ind, own := t.lineIndent(d.Start()); own && (i >= len(data) || data[i] == '\n') {
		if i >= len(data) {
			return Edit{Path: path, Off: len(data), New: "\n" + ind + text + "\n"}
		}
		return Edit{Path: path, Off: i + 1, New: ind + text + "\n"}
	}
	return Edit{Path: path, Off: d.End, New: " " + text}
}
