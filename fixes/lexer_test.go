package fixes

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// node is a directive as both parsers see it: name, arguments, line, body.
type node struct {
	Name  string
	Args  []string
	Line  int
	Block []node
	Lua   bool
	off   int // the name's byte offset (ours only; not compared)
}

func (n node) String() string {
	var b strings.Builder
	var rec func(n node, depth int)
	rec = func(n node, depth int) {
		fmt.Fprintf(&b, "%s%s %q @%d", strings.Repeat("  ", depth), n.Name, n.Args, n.Line)
		if n.Block != nil {
			b.WriteString(" {\n")
			for _, c := range n.Block {
				rec(c, depth+1)
			}
			fmt.Fprintf(&b, "%s}", strings.Repeat("  ", depth))
		}
		b.WriteString("\n")
	}
	for _, c := range n.Block {
		rec(c, 0)
	}
	return b.String()
}

// crossplaneTree parses one file on its own, as checks/nginx does.
func crossplaneTree(t *testing.T, path string) (node, error) {
	t.Helper()
	p, err := crossplane.Parse(path, &crossplane.ParseOptions{
		SingleFile: true, SkipDirectiveContextCheck: true, SkipDirectiveArgsCheck: true, ParseComments: false,
		ErrorOnUnknownDirectives: false, StopParsingOnError: true,
		LexOptions: crossplane.LexOptions{Lexers: []crossplane.RegisterLexer{(&crossplane.Lua{}).RegisterLexer()}},
	})
	if err != nil {
		return node{}, err
	}
	if len(p.Errors) > 0 {
		return node{}, p.Errors[0].Error
	}
	var conv func(ds crossplane.Directives) []node
	conv = func(ds crossplane.Directives) []node {
		out := []node{}
		for _, d := range ds {
			n := node{Name: d.Directive, Args: d.Args, Line: d.Line}
			if strings.HasSuffix(d.Directive, "_by_lua_block") {
				n.Args, n.Lua = nil, true
			} else if d.IsBlock() || d.Block != nil {
				n.Block = conv(d.Block)
			}
			out = append(out, n)
		}
		return out
	}
	return node{Block: conv(p.Config[0].Parsed)}, nil
}

// ourTree is the lexer's view of the same file.
func ourTree(t *confTree) node {
	var conv func(ds []*directive) []node
	conv = func(ds []*directive) []node {
		out := []node{}
		for _, d := range ds {
			n := node{Name: d.Name, Args: d.Args, Line: d.Line, off: d.Start()}
			if d.Name == "if" {
				n.Args = ifArgs(d.Args)
			}
			if strings.HasSuffix(d.Name, "_by_lua_block") {
				n.Args, n.Lua = nil, true
			} else if d.Block != nil {
				n.Block = conv(d.Block)
			}
			out = append(out, n)
		}
		return out
	}
	return node{Block: conv(t.Top)}
}

// ifArgs drops the parentheses of an if's condition, as crossplane does.
func ifArgs(args []string) []string {
	a := append([]string(nil), args...)
	if len(a) > 0 {
		a[0] = strings.TrimPrefix(a[0], "(")
		a[len(a)-1] = strings.TrimSuffix(a[len(a)-1], ")")
	}
	var out []string
	for _, s := range a {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// testdataConfigs are the config files under testdata.
func testdataConfigs(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.Walk("../testdata/nginx", func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && (strings.HasSuffix(p, ".conf") || strings.Contains(p, "/sites-available/")) {
			out = append(out, p)
		}
		return nil
	})
	if len(out) < 5 {
		t.Fatalf("found only %d configs under testdata", len(out))
	}
	return out
}

// withArgs is the tree with the directive at path (indexes into blocks) changed by fn.
func withChange(n node, path []int, fn func(parent *node, i int)) node {
	c := cloneNode(n)
	p := &c
	for _, i := range path[:len(path)-1] {
		p = &p.Block[i]
	}
	fn(p, path[len(path)-1])
	return c
}

func cloneNode(n node) node {
	c := n
	c.Args = append([]string(nil), n.Args...)
	if n.Block != nil {
		c.Block = make([]node, len(n.Block))
		for i, b := range n.Block {
			c.Block[i] = cloneNode(b)
		}
	}
	return c
}

// shifted is n as it reads after ed: every directive after the edited
// bytes moves by the newlines the edit adds or removes.
func shifted(n node, ed Edit) node {
	c := cloneNode(n)
	by := strings.Count(ed.New, "\n") - strings.Count(ed.Old, "\n")
	var rec func(n *node)
	rec = func(n *node) {
		for i := range n.Block {
			if n.Block[i].off >= ed.Off+len(ed.Old) && n.Block[i].off > 0 || (n.Block[i].off == 0 && ed.Off == 0 && ed.Old == "") {
				n.Block[i].Line += by
			}
			rec(&n.Block[i])
		}
	}
	rec(&c)
	return c
}

// checkEdit applies one edit to the file and parses the result with
// crossplane: it must be the original tree changed by want, nothing else.
func checkEdit(t *testing.T, dir string, data []byte, ed Edit, want node) {
	t.Helper()
	got, err := applyEdits(string(data), []Edit{ed})
	if err != nil {
		t.Fatalf("edit %+v: %v", ed, err)
	}
	p := filepath.Join(dir, "edited.conf")
	os.WriteFile(p, []byte(got), 0o644)
	tree, err := crossplaneTree(t, p)
	if err != nil {
		t.Fatalf("the edited file no longer parses: %v\nedit %+v\n%s", err, ed, got)
	}
	if tree.String() != want.String() {
		t.Fatalf("edit %+v changed more than one directive:\ngot\n%s\nwant\n%s\nfile:\n%s", ed, tree, want, got)
	}
}

// propertyCheck: our tree is crossplane's; then every directive's
// arguments are replaced, and a directive inserted first in every block
// and after every directive, one edit at a time, each changing exactly
// that directive and nothing else.
func propertyCheck(t *testing.T, data []byte) {
	t.Helper()
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.conf")
	os.WriteFile(orig, data, 0o644)
	want, err := crossplaneTree(t, orig)
	if err != nil {
		t.Fatalf("crossplane: %v", err)
	}
	tree, err := parseConf(data)
	if err != nil {
		t.Fatalf("lexer: %v", err)
	}
	if got := ourTree(tree); got.String() != want.String() {
		t.Fatalf("the lexer's tree differs from crossplane's:\ngot\n%s\nwant\n%s", got, want)
	}
	want = ourTree(tree) // the same, with offsets
	var rec func(ds []*directive, path []int)
	rec = func(ds []*directive, path []int) {
		for i, d := range ds {
			p := append(append([]int(nil), path...), i)
			if strings.HasSuffix(d.Name, "_by_lua_block") {
				continue
			}
			if d.Block == nil && len(d.Args) > 0 {
				ed := tree.setArgs("x", d, "ngx doctor", "v2")
				checkEdit(t, dir, data, ed, withChange(shifted(want, ed), p, func(par *node, i int) {
					par.Block[i].Args = []string{"ngx doctor", "v2"}
				}))
				ed = tree.setArg("x", d, len(d.Args)-1, "a;b")
				checkEdit(t, dir, data, ed, withChange(shifted(want, ed), p, func(par *node, i int) {
					par.Block[i].Args[len(par.Block[i].Args)-1] = "a;b"
				}))
			}
			ed := tree.insertAfter("x", d, "ngxdoctor_added", "1")
			checkEdit(t, dir, data, ed, insertedTree(want, p, i+1, data, ed))
			if d.Block != nil {
				ed := tree.insertFirst("x", d, "ngxdoctor_added", "1")
				checkEdit(t, dir, data, ed, insertedTree(want, append(p, 0), 0, data, ed))
				rec(d.Block, p)
			}
		}
	}
	rec(tree.Top, nil)
}

// insertedTree is want with "ngxdoctor_added 1" at index at of the block
// that path's last element indexes, on the line the edit puts it on.
func insertedTree(want node, path []int, at int, data []byte, ed Edit) node {
	line := lineOf(string(data), ed.Off) + strings.Count(ed.New[:strings.Index(ed.New, "ngxdoctor_added")], "\n")
	c := shifted(want, ed)
	par := &c
	for _, i := range path[:len(path)-1] {
		par = &par.Block[i]
	}
	n := node{Name: "ngxdoctor_added", Args: []string{"1"}, Line: line}
	par.Block = append(par.Block[:at], append([]node{n}, par.Block[at:]...)...)
	return c
}

func TestLexerMatchesCrossplaneAndEditsOneDirective(t *testing.T) {
	for _, p := range testdataConfigs(t) {
		t.Run(strings.TrimPrefix(p, "../testdata/nginx/"), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := crossplaneTree(t, p); err != nil {
				t.Skipf("crossplane itself refuses it (%v): a fixture of a broken config", err)
			}
			propertyCheck(t, data)
		})
	}
}

// layout renders a config in random but valid layouts: one-line blocks,
// several directives on a line, comments after braces and directives,
// quoted arguments with ';', '#' and braces inside, escapes and tabs.
type layout struct{ r *rand.Rand }

func (l layout) sp() string {
	return []string{" ", "  ", "\t", " \t"}[l.r.Intn(4)]
}

func (l layout) arg(s string) string {
	switch l.r.Intn(4) {
	case 0:
		return `"` + s + `"`
	case 1:
		return `'` + s + `'`
	}
	return s
}

func (l layout) comment() string {
	if l.r.Intn(3) == 0 {
		return l.sp() + "# note; { } \"q\"" + l.sp()
	}
	return ""
}

// block renders name args { body } on one line or several.
func (l layout) block(head string, body []string, indent string) string {
	if l.r.Intn(2) == 0 {
		return indent + head + l.sp() + "{" + l.sp() + strings.Join(body, l.sp()) + l.sp() + "}" + l.comment() + "\n"
	}
	var b strings.Builder
	b.WriteString(indent + head + " {" + l.comment() + "\n")
	for i := 0; i < len(body); i++ {
		line := body[i]
		if i+1 < len(body) && l.r.Intn(3) == 0 && !strings.Contains(line, "\n") && !strings.Contains(body[i+1], "\n") {
			line += l.sp() + body[i+1] // two on a line
			i++
		}
		b.WriteString(indent + "    " + strings.TrimLeft(line, " ") + l.comment() + "\n")
	}
	b.WriteString(indent + "}\n")
	return b.String()
}

func (l layout) config(dir string, port, backend int) string {
	loc := []string{
		"proxy_pass" + l.sp() + l.arg(fmt.Sprintf("http://127.0.0.1:%d", backend)) + ";",
		"proxy_read_timeout " + l.arg("1s") + ";",
		"proxy_set_header" + l.sp() + "X-Note" + l.sp() + `"a;b#c {x}"` + ";",
		`set $v "q\"uote";`,
	}
	l.r.Shuffle(len(loc), func(i, j int) { loc[i], loc[j] = loc[j], loc[i] })
	other := []string{`return 200 "ok;#{}";`}
	server := strings.Join([]string{
		fmt.Sprintf("    listen 127.0.0.1:%d;\n", port),
		l.block("location /report", loc, "    "),
		l.block("location = "+l.arg("/other"), other, "    "),
	}, "")
	return fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 16; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
    server {
%[2]s    }
}
`, dir, server)
}

// TestEditsInGeneratedLayouts: the edits the fixes make (a setting's new
// value, a setting added to the failing location, an address swapped) in
// many layouts change exactly one directive and pass nginx -t.
func TestEditsInGeneratedLayouts(t *testing.T) {
	nginxOK := nginxBin != ""
	if _, err := exec.LookPath(nginxBin); err != nil {
		nginxOK = false
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0o755)
	r := rand.New(rand.NewSource(9))
	n := 60
	if testing.Short() {
		n = 10
	}
	for i := 0; i < n; i++ {
		text := layout{r}.config(dir, 18080, 18081)
		data := []byte(text)
		tree, err := parseConf(data)
		if err != nil {
			t.Fatalf("layout %d: %v\n%s", i, err, text)
		}
		propertyCheck(t, data)
		var loc, timeout, pass *directive
		tree.walk(func(d *directive) {
			switch {
			case d.Name == "location" && len(d.Args) == 1 && d.Args[0] == "/report":
				loc = d
			case d.Name == "proxy_read_timeout":
				timeout = d
			case d.Name == "proxy_pass":
				pass = d
			}
		})
		for _, ed := range []Edit{
			tree.setArgs("x", timeout, "60s"),
			tree.insertFirst("x", loc, "proxy_buffer_size", "8k"),
			tree.setArg("x", pass, 0, "http://[::1]:18081"),
		} {
			got, err := applyEdits(text, []Edit{ed})
			if err != nil {
				t.Fatal(err)
			}
			if !nginxOK {
				continue
			}
			conf := filepath.Join(dir, "nginx.conf")
			os.WriteFile(conf, []byte(got), 0o644)
			if out, err := exec.Command(nginxBin, "-t", "-q", "-c", conf, "-p", dir).CombinedOutput(); err != nil {
				t.Fatalf("nginx -t fails after %+v: %v\n%s\n%s", ed, err, out, got)
			}
		}
	}
	if !nginxOK {
		t.Log("nginx is not installed: the edited layouts were parsed but not run through nginx -t")
	}
}

func TestLexerRules(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b;`, []string{"a", "b", ";"}},
		{`a "b c";`, []string{"a", "b c", ";"}},
		{`a 'b;#{}';`, []string{"a", "b;#{}", ";"}},
		{`a b#c; # comment`, []string{"a", "b#c", ";"}},
		{`a "q\"x" \;y;`, []string{"a", `q"x`, `\;y`, ";"}},
		{`loc {x;}`, []string{"loc", "{", "x", ";", "}"}},
		{`a ${v}c;`, []string{"a", "${v}c", ";"}},
		{`a b} c;`, []string{"a", "b}", "c", ";"}},
		{"a\t\"b\"\r\n;", []string{"a", "b", ";"}},
		{`if ($a = "b") {}`, []string{"if", "($a", "=", "b", ")", "{", "}"}},
	}
	for _, tt := range tests {
		toks, err := lexConf([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		var got []string
		for _, tk := range toks {
			got = append(got, tk.Value)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`a "b`, `a "b"c;`, `a b`, `}`, `a {`, `;`} {
		if _, err := parseConf([]byte(bad)); err == nil {
			t.Errorf("%q: parsed, want an error", bad)
		}
	}
}

// FuzzLexConf: any input gives tokens or an error, never a panic; tokens
// lie in order within the input, and when it parses, replacing any
// directive's arguments parses again to the same shape.
func FuzzLexConf(f *testing.F) {
	for _, s := range []string{"a b;", `location / { proxy_pass http://x; proxy_read_timeout 1s; }`,
		"http {\n  server { listen 80; # c\n  }\n}\n", `a "q\"" 'x' ${v};`, "content_by_lua_block { ngx.say('}') }"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := lexConf(data)
		if err != nil {
			return
		}
		prev := 0
		for _, tk := range toks {
			if tk.Start < prev || tk.End <= tk.Start || tk.End > len(data) {
				t.Fatalf("token %+v out of order or bounds (prev end %d, len %d)", tk, prev, len(data))
			}
			prev = tk.End
		}
		tree, err := parseConf(data)
		if err != nil {
			return
		}
		var shape func(ds []*directive) string
		shape = func(ds []*directive) string {
			var b strings.Builder
			for _, d := range ds {
				b.WriteString(d.Name)
				if d.Block != nil {
					b.WriteString("{" + shape(d.Block) + "}")
				}
				b.WriteString(";")
			}
			return b.String()
		}
		want := shape(tree.Top)
		tree.walk(func(d *directive) {
			if d.Block != nil || strings.HasSuffix(d.Name, "_by_lua_block") {
				return
			}
			got, err := applyEdits(string(data), []Edit{tree.setArgs("x", d, "v")})
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseConf([]byte(got))
			if err != nil {
				t.Fatalf("after setting %s's arguments: %v\n%q", d.Name, err, got)
			}
			if s := shape(again.Top); s != want {
				t.Fatalf("shape changed: %s -> %s", want, s)
			}
		})
	})
}
