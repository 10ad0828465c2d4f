package checks

import "testing"

func TestRegexPath(t *testing.T) {
	for _, tt := range []struct{ loc, want string }{
		{`~ \.php$`, "/index.php"},
		{`~* \.(jpg|png)$`, "/index.jpg"},
		{`~ ^/api/v[0-9]+/`, "/api/v0/"},
		{`~ ^/(?:status|health)$`, "/status"},
		{`~ ^/user/(?<id>\d+)$`, "/user/0"},
		{`~ /static/.*\.css`, "/static/index.css"},
		{`~ ^/x{2,3}$`, "/xx"},
		{`~ ^(?!/admin)`, ""}, // PCRE lookahead
		{`~ php`, "/php"},
		{`~ ^/.*\.php$`, "/index.php"},
		{`~ ^/.+\.php$`, "/x.php"},
		{`~ ^[a-z]+$`, ""}, // no path starts with a letter
		{`~ (?<=a)b`, ""},  // PCRE lookbehind: Go cannot read it
		{`~ ^\?`, ""},      // no plain path matches
		{`/prefix`, ""},
		{`= /exact`, ""},
		{`@named`, ""},
	} {
		if got := regexPath(tt.loc); got != tt.want {
			t.Errorf("regexPath(%q) = %q, want %q", tt.loc, got, tt.want)
		}
	}
}

func FuzzRegexPath(f *testing.F) {
	for _, s := range []string{`~ \.php$`, `~* ^/(a|b)+[^/]*$`, `~ ^/x{2,3}$`, `~ [\x00-\x1f]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		p := regexPath(loc)
		if p != "" && (p[0] != '/' || !plainPath(p)) {
			t.Fatalf("regexPath(%q) = %q: not a plain path", loc, p)
		}
	})
}
