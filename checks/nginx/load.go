package nginx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	crossplane "github.com/nginxinc/nginx-go-crossplane"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// Limits on what Load reads: a config is kilobytes, so anything near these
// is a mistake (an include of /var/log/*) or hostile, and must not exhaust memory.
const (
	MaxConfigBytes = 64 << 20
	MaxConfigFiles = 10000
	// maxNodes bounds the tree after includes are spliced in: a small file
	// included many times from files that are themselves included many times
	// grows exponentially.
	maxNodes = 2_000_000
	// maxDepth bounds block nesting: real configs nest a handful of levels,
	// and the parser recurses once per level (a deep enough file would
	// overflow the stack, which no recover can catch).
	maxDepth = 200
)

// source serves config files to crossplane. Every open is counted against
// the limits; a file that cannot be read is served empty and remembered,
// because crossplane aborts the whole parse when a globbed file fails to open.
type source struct {
	ctx    context.Context
	read   func(path string) ([]byte, error)
	glob   func(pattern string) ([]string, error)
	main   string
	bytes  int64
	files  map[string]bool
	order  []string
	failed map[string]error
	errs   []string
	// closers are "}" appended to a file that ended inside a block, so that
	// what it did say is still read (nginx would refuse it; the diagnosis
	// still wants its passes).
	closers map[string]int
	// raw keeps what was read: crossplane opens an explicitly included
	// file twice, and a retry reads the whole tree again.
	raw map[string][]byte
}

func newSource(ctx context.Context, main string) *source {
	return &source{ctx: ctx, main: main, files: map[string]bool{}, failed: map[string]error{}, closers: map[string]int{}, raw: map[string][]byte{}}
}

// reset forgets what was read, for another parse of the same tree.
func (s *source) reset() {
	s.bytes, s.order, s.errs = 0, nil, nil
	s.files, s.failed = map[string]bool{}, map[string]error{}
}

func (s *source) open(path string) (io.ReadCloser, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if err, ok := s.failed[path]; ok {
		if path == s.main {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if !s.files[path] && len(s.files) >= MaxConfigFiles {
		return s.fail(path, fmt.Errorf("more than %d configuration files", MaxConfigFiles))
	}
	data, ok := s.raw[path]
	if !ok {
		var err error
		if data, err = s.read(path); err != nil {
			return s.fail(path, err)
		}
		if depth := nesting(s.ctx, data); depth > maxDepth {
			return s.fail(path, fmt.Errorf("blocks nested more than %d deep", maxDepth))
		}
		s.raw[path] = data
	}
	if n := s.closers[path]; n > 0 {
		data = append(bytes.Clone(data), strings.Repeat("\n}", n)...)
	}
	if !s.files[path] {
		s.bytes += int64(len(data))
		if s.bytes > MaxConfigBytes {
			return s.fail(path, fmt.Errorf("configuration larger than %d MiB", MaxConfigBytes>>20))
		}
		s.files[path] = true
		s.order = append(s.order, path)
	}
	return io.NopCloser(ctxReader{s.ctx, bytes.NewReader(data)}), nil
}

// ctxReader ends a read when ctx is done: crossplane reads a file as it
// lexes it, so a cancelled run stops within one buffer of a 50 MB file
// instead of after parsing all of it.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// nesting is the deepest block nesting in a config file, counted on the
// same tokens the parser will see (braces in strings, comments and Lua
// code do not count). Files with few braces need no lexing at all; most
// others are scanned by braceDepth, and only those it cannot judge are
// lexed by crossplane (a second full lex of a 50 MB file cost seconds).
func nesting(ctx context.Context, data []byte) int {
	if bytes.Count(data, []byte("{")) <= maxDepth {
		return 0
	}
	if d, ok := braceDepth(ctx, data); ok {
		return d
	}
	return lexDepth(ctx, data)
}

// lexDepth is the deepest nesting of crossplane's tokens of data.
func lexDepth(ctx context.Context, data []byte) int {
	depth, deepest := 0, 0
	for t := range crossplane.LexWithOptions(ctxReader{ctx, bytes.NewReader(data)}, lexOptions()) {
		if t.Error != nil {
			break
		}
		switch {
		case t.IsQuoted:
		case t.Value == "{":
			depth++
			deepest = max(deepest, depth)
		case t.Value == "}":
			depth--
		}
	}
	return deepest
}

// braceDepth follows crossplane's lexer (words, quotes, escapes, comments,
// and its stop at a repeated "{" or ";" or an unbalanced "}") over bytes
// to find the deepest nesting. It declines (ok false) what that lexer
// reads otherwise: non-ASCII bytes (Unicode spaces), "${" (its variable
// state) and Lua blocks (their own lexer).
func braceDepth(ctx context.Context, data []byte) (deepest int, ok bool) {
	if bytes.Contains(data, []byte("_by_lua")) {
		return 0, false
	}
	const (
		space = iota
		word
		quoted
		comment
	)
	state, inToken, esc, dup := space, false, false, false
	var quote, prev byte
	depth := 0
	for i, c := range data {
		if i&(1<<20-1) == 0 && ctx.Err() != nil {
			return 0, true // load reports the cancellation
		}
		if c >= 0x80 {
			return 0, false
		}
		if c == '\r' {
			continue
		}
		if c == '{' && prev == '$' && !esc {
			return 0, false
		}
		prev = c
		if c == '\\' && !esc {
			esc = true
			continue
		}
		escaped := esc
		esc = false
		isSpace := !escaped && (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f')
		switch state {
		case space:
			if isSpace {
				continue
			}
			if !escaped && c == '#' {
				state = comment
				continue
			}
			state, inToken = word, false
			fallthrough
		case word:
			switch {
			case isSpace:
				state, inToken = space, false
			case !escaped && (c == '"' || c == '\'') && !inToken:
				state, quote, dup = quoted, c, false
			case !escaped && (c == '{' || c == '}' || c == ';'):
				if dup && c != '}' {
					return deepest, true
				}
				dup = true
				switch c {
				case '{':
					depth++
					deepest = max(deepest, depth)
				case '}':
					if depth--; depth < 0 {
						return deepest, true
					}
				}
				state, inToken = space, false
			default:
				dup, inToken = false, true
			}
		case quoted:
			if !escaped && c == quote {
				state, inToken = space, false
			}
		case comment:
			if c == '\n' {
				state = space
			}
		}
	}
	return deepest, true
}

func (s *source) fail(path string, err error) (io.ReadCloser, error) {
	s.failed[path] = err
	if path == s.main {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

func (s *source) globFiles(pattern string) ([]string, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	m, err := s.glob(pattern)
	if err != nil {
		// A bad pattern would abort crossplane's whole parse; nginx would
		// refuse it too, so it is reported and the rest is still read.
		s.errs = append(s.errs, fmt.Sprintf("include %s: %v", pattern, err))
		return nil, nil
	}
	return m, nil
}

// Load parses the configuration tree rooted at path, reading every file
// through sys.
func Load(ctx context.Context, sys host.System, path string) (*Config, error) {
	src := newSource(ctx, path)
	src.read = func(p string) ([]byte, error) { return readFileCtx(ctx, sys, p, MaxConfigBytes-src.bytes) }
	src.glob = sys.Glob
	return load(src, path, false)
}

// readFile reads a whole file, refusing more than limit bytes.
func readFile(sys host.System, path string, limit int64) ([]byte, error) {
	return readFileCtx(context.Background(), sys, path, limit)
}

// readFileCtx reads a whole file into one buffer of its size, a MiB at a
// time, and stops when ctx is done: io.ReadAll's growing buffer took
// seconds on a 50 MB config, all of them deaf to SIGTERM.
func readFileCtx(ctx context.Context, sys host.System, path string, limit int64) ([]byte, error) {
	f, err := sys.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := f.Size()
	if size > limit {
		return nil, fmt.Errorf("configuration larger than %d MiB", MaxConfigBytes>>20)
	}
	// One byte more than the size tells a file that grew since.
	data := make([]byte, 0, size+1)
	for int64(len(data)) <= limit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := min(int64(cap(data)-len(data)), 1<<20)
		if want == 0 {
			data = append(data, 0)[:len(data)] // grow: the file is longer than it said
			continue
		}
		n, err := f.ReadAt(data[len(data):len(data)+int(want)], int64(len(data)))
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) || err == nil && n == 0 {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("configuration larger than %d MiB", MaxConfigBytes>>20)
	}
	return data, nil
}

const dumpHeader = "# configuration file "

// LoadDump parses the output of `nginx -T`: the files it printed, each
// after a "# configuration file PATH:" line; the first one is the main file.
func LoadDump(dump []byte) (*Config, error) {
	files := map[string][]byte{}
	var order []string
	var cur string
	var buf bytes.Buffer
	flush := func() {
		if cur != "" {
			if _, seen := files[cur]; !seen {
				files[cur] = bytes.Clone(buf.Bytes())
				order = append(order, cur)
			}
		}
		buf.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(dump))
	sc.Buffer(make([]byte, 0, 64<<10), MaxConfigBytes)
	for sc.Scan() {
		line := sc.Text()
		// A dump pasted through a ticket may have gained CRLF line ends.
		if h := strings.TrimSuffix(line, "\r"); strings.HasPrefix(h, dumpHeader) && strings.HasSuffix(h, ":") {
			line = h
		}
		if strings.HasPrefix(line, dumpHeader) && strings.HasSuffix(line, ":") {
			flush()
			cur = strings.TrimSuffix(strings.TrimPrefix(line, dumpHeader), ":")
			continue
		}
		if cur != "" {
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read nginx -T output: %w", err)
	}
	flush()
	if len(order) == 0 {
		return nil, errors.New(`no "# configuration file PATH:" line: not the output of nginx -T`)
	}
	src := newSource(context.Background(), order[0])
	src.read = func(p string) ([]byte, error) {
		data, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("%s is not in the nginx -T output", p)
		}
		return data, nil
	}
	src.glob = func(pattern string) ([]string, error) {
		if _, err := filepath.Match(pattern, ""); err != nil {
			return nil, err
		}
		var m []string
		for _, p := range order {
			if ok, _ := filepath.Match(pattern, p); ok {
				m = append(m, p)
			}
		}
		return m, nil
	}
	return load(src, order[0], false)
}

func parseOptions(src *source, single bool) *crossplane.ParseOptions {
	return &crossplane.ParseOptions{
		Open:           src.open,
		Glob:           src.globFiles,
		CombineConfigs: false,
		SingleFile:     single,
		// Snippets are parsed once, in the context of their first include;
		// checking contexts would report errors nginx does not have.
		SkipDirectiveContextCheck: true,
		DirectiveSources: []crossplane.MatchFunc{
			crossplane.DefaultDirectivesMatchFunc,
			crossplane.MatchLuaLatest,
			crossplane.MatchNjsLatest,
			crossplane.MatchHeadersMoreLatest,
			crossplane.MatchGeoip2Latest,
			crossplane.MatchOtelLatest,
		},
		LexOptions: lexOptions(),
	}
}

// lexOptions adds the Lua lexer: without it, Lua code inside
// *_by_lua_block would be read as nginx syntax and break the rest of the file.
func lexOptions() crossplane.LexOptions {
	return crossplane.LexOptions{
		Lexers: []crossplane.RegisterLexer{(&crossplane.Lua{}).RegisterLexer()},
	}
}

func load(src *source, main string, single bool) (cfg *Config, err error) {
	// crossplane is third-party code fed untrusted bytes; a panic in it
	// must become an error, not a crashed diagnosis.
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, fmt.Errorf("parse %s: parser failed: %v", main, r)
		}
	}()
	const unclosed = `unexpected end of file, expecting "}"`
	var payload *crossplane.Payload
	var unclosedErrs []string
	for attempt := 0; ; attempt++ {
		payload, err = crossplane.Parse(main, parseOptions(src, single))
		if cerr := src.ctx.Err(); cerr != nil {
			// The reads stopped short: what was parsed is not the config.
			return nil, fmt.Errorf("read nginx configuration %s: stopped: %w", main, cerr)
		}
		if err != nil {
			return nil, fmt.Errorf("read nginx configuration %s: %w", main, err)
		}
		retry := false
		for _, e := range payload.Errors {
			if e.Error != nil && strings.Contains(e.Error.Error(), unclosed) && attempt < 4 {
				src.closers[e.File]++
				if attempt == 0 {
					unclosedErrs = append(unclosedErrs, formatError(e))
				}
				retry = true
			}
		}
		if !retry {
			break
		}
		src.reset()
	}
	cfg = &Config{Main: main, Files: src.order, Bytes: src.bytes, WorkerConnections: 512, LogFormats: map[string]Directive{}}
	if len(cfg.Files) == 0 {
		cfg.Files = []string{main}
	}
	cfg.Errors = append(cfg.Errors, unclosedErrs...)
	for _, e := range payload.Errors {
		if msg := formatError(e); !slices.Contains(cfg.Errors, msg) {
			cfg.Errors = append(cfg.Errors, msg)
		}
	}
	cfg.Errors = append(cfg.Errors, src.errs...)
	failed := make([]string, 0, len(src.failed))
	for p := range src.failed {
		failed = append(failed, p)
	}
	sort.Strings(failed)

	t := &tree{ctx: src.ctx, payload: payload, failed: src.failed, active: map[int]bool{}}
	nodes := t.expand(0)
	if len(payload.Config) > 0 {
		cfg.HTTPIncludes = httpIncludes(payload.Config[0])
	}
	if err := src.ctx.Err(); err != nil {
		return nil, fmt.Errorf("read nginx configuration %s: stopped: %w", main, err)
	}
	cfg.Errors = append(cfg.Errors, t.errs...)
	// Files that failed to open without an include line to blame (globbed ones).
	for _, p := range failed {
		if !t.blamed[p] {
			cfg.Errors = append(cfg.Errors, fmt.Sprintf("%s: %v", p, src.failed[p]))
		}
	}
	cfg.Passes = make([]Pass, 0, t.passes)
	if err := build(src.ctx, cfg, nodes); err != nil {
		return nil, fmt.Errorf("read nginx configuration %s: stopped: %w", main, err)
	}
	return cfg, nil
}

// httpIncludes are the include lines written directly in the main file's
// http block, as written (the tree has them spliced away). Fix planning
// asks where an http-level snippet can go; without these it would lex the
// whole main file again, as costly as the load on a big one.
func httpIncludes(main crossplane.Config) []Directive {
	var out []Directive
	for _, top := range main.Parsed {
		if top == nil || top.Directive != "http" {
			continue
		}
		for _, d := range top.Block {
			if d != nil && d.Directive == "include" {
				out = append(out, Directive{Name: d.Directive, Args: d.Args, At: Pos{File: main.File, Line: d.Line}})
			}
		}
	}
	return out
}

func formatError(e crossplane.PayloadError) string {
	what := ""
	if e.Error != nil {
		what = e.Error.Error()
		var pe *crossplane.ParseError
		if errors.As(e.Error, &pe) {
			what = pe.What
		}
	}
	if e.Line != nil {
		return fmt.Sprintf("%s:%d: %s", e.File, *e.Line, what)
	}
	return fmt.Sprintf("%s: %s", e.File, what)
}

// node is a directive with its includes spliced in, so the walk sees the
// tree nginx sees.
type node struct {
	name    string
	args    []string
	at      Pos
	isBlock bool
	block   []*node
}

type tree struct {
	ctx     context.Context
	passes  int // *_pass directives, to size Config.Passes once
	payload *crossplane.Payload
	failed  map[string]error
	active  map[int]bool
	blamed  map[string]bool
	count   int
	depth   int
	full    bool
	errs    []string
}

func (t *tree) expand(idx int) []*node {
	if idx < 0 || idx >= len(t.payload.Config) {
		return nil
	}
	t.active[idx] = true
	defer delete(t.active, idx)
	file := t.payload.Config[idx]
	return t.nodes(file.Parsed, file.File)
}

func (t *tree) nodes(dirs crossplane.Directives, file string) []*node {
	t.depth++
	defer func() { t.depth-- }()
	var out []*node
	if t.depth > maxDepth && len(dirs) > 0 {
		t.errs = append(t.errs, fmt.Sprintf("%s:%d: blocks nested more than %d deep across includes; the rest is not read", file, dirs[0].Line, maxDepth))
		return nil
	}
	for _, d := range dirs {
		if d == nil || d.IsComment() {
			continue
		}
		// A cancelled run stops here too; load reports it.
		if t.count%4096 == 0 && t.ctx.Err() != nil {
			return out
		}
		if t.count >= maxNodes {
			if !t.full {
				t.full = true
				t.errs = append(t.errs, fmt.Sprintf("%s:%d: configuration has more than %d directives after includes; the rest is not read", file, d.Line, maxNodes))
			}
			return out
		}
		if d.Directive == "include" {
			out = append(out, t.include(d, file)...)
			continue
		}
		t.count++
		n := &node{name: d.Directive, args: d.Args, at: Pos{File: file, Line: d.Line}, isBlock: d.IsBlock()}
		if _, ok := passModules[n.name]; ok {
			t.passes++
		}
		if n.isBlock {
			n.block = t.nodes(d.Block, file)
		}
		out = append(out, n)
	}
	return out
}

func (t *tree) include(d *crossplane.Directive, file string) []*node {
	var out []*node
	for _, inc := range d.Includes {
		if inc < 0 || inc >= len(t.payload.Config) {
			continue
		}
		name := t.payload.Config[inc].File
		if err, ok := t.failed[name]; ok {
			if t.blamed == nil {
				t.blamed = map[string]bool{}
			}
			if !t.blamed[name] {
				t.blamed[name] = true
				t.errs = append(t.errs, fmt.Sprintf("%s:%d: include %s: %v", file, d.Line, name, err))
			}
			continue
		}
		if t.active[inc] {
			t.errs = append(t.errs, fmt.Sprintf("%s:%d: include %s: includes itself", file, d.Line, name))
			continue
		}
		out = append(out, t.expand(inc)...)
	}
	return out
}
