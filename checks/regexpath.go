package checks

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
)

// regexPath is a path that a regex location ("~ \.php$", "~* ^/api/v[0-9]+/")
// matches, for a replay when the window has no failing request there: the
// shortest string the expression accepts, built from its syntax tree, with
// a name in front when it does not start with a slash (an unanchored
// suffix such as "\.php$" gives "/index.php"). "" when nginx's expression
// is not one Go can read (PCRE lookarounds, backreferences) or no plain
// path satisfies it.
func regexPath(loc string) string {
	f := strings.Fields(loc)
	if len(f) < 2 || (f[0] != "~" && f[0] != "~*") {
		return ""
	}
	expr := strings.Join(f[1:], " ")
	if f[0] == "~*" {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return ""
	}
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	s, ok := shortest(tree.Simplify())
	if !ok {
		return ""
	}
	// An unanchored suffix ("\.php$") gets "/index" in front: the script
	// that most sites have, so the request reaches the backend even behind
	// "try_files $uri =404".
	cands := []string{s, "/" + s, "/ngxdoctor/" + s}
	if strings.HasPrefix(s, ".") {
		cands = []string{"/index" + s, "/ngxdoctor" + s}
	}
	if strings.Contains(s, "/.") {
		// "^/.*\.php$" gives "/.php": a dotfile, which deny rules take.
		cands = append([]string{strings.Replace(s, "/.", "/index.", 1)}, cands...)
	}
	for _, p := range cands {
		if strings.HasPrefix(p, "/") && re.MatchString(p) && plainPath(p) {
			return p
		}
	}
	return ""
}

// maxRegexPath bounds the path: "x{1000}" nested in a config must not
// build megabytes.
const maxRegexPath = 1024

// shortest builds a short string the expression matches: one of each
// repetition's minimum, the first branch that works, and a letter or digit
// for a class.
func shortest(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return "", true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return strings.ToLower(string(re.Rune)), true // as paths are mostly written
		}
		return string(re.Rune), true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return "x", true
	case syntax.OpCharClass:
		return classRune(re.Rune)
	case syntax.OpCapture:
		return shortest(re.Sub[0])
	case syntax.OpPlus:
		return shortest(re.Sub[0])
	case syntax.OpRepeat:
		one, ok := shortest(re.Sub[0])
		if !ok || len(one)*re.Min > maxRegexPath {
			return "", false
		}
		return strings.Repeat(one, re.Min), true
	case syntax.OpConcat:
		var b strings.Builder
		for _, sub := range re.Sub {
			s, ok := shortest(sub)
			if !ok || b.Len()+len(s) > maxRegexPath {
				return "", false
			}
			b.WriteString(s)
		}
		return b.String(), true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if s, ok := shortest(sub); ok && plainPath(s) {
				return s, true
			}
		}
	}
	return "", false
}

// classRune picks a rune of a character class (pairs of lo, hi), a letter
// or digit first: they are safe in any path.
func classRune(ranges []rune) (string, bool) {
	for _, want := range "aAx0_-." {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= want && want <= ranges[i+1] {
				return string(want), true
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < ranges[i]+128; r++ {
			if r < unicode.MaxASCII && plainPath(string(r)) {
				return string(r), true
			}
		}
	}
	return "", false
}

// plainPath: printable ASCII with nothing that would end the path or need
// escaping on the request line.
func plainPath(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= unicode.MaxASCII || strings.ContainsRune("?#%\"<>\\^`{|}", r) {
			return false
		}
	}
	return true
}
