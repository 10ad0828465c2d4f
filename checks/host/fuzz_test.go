package host

import (
	"context"
	"testing"
	"time"
)

// FuzzParsers feeds arbitrary text to every parser of tool output and to
// LoadRecording: none may panic, whatever a tool or a testdata file says.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{iptablesSample, nftSample, showFPM, "-A", "-A OUTPUT -j", `"`, "table ip {", "chain {\n drop # handle",
		"0::/\n", "ID=\"debian\"\nVERSION_ID='12'", "sl\n 0: 0100007F:0BB8 00000000:0000 0A 00000000:00000001", `{"files":{"/x":{}}}`, `{"dials":{"tcp a":null}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseIptables("iptables", s)
		ParseNft(s, false, true)
		ParseUfw(s)
		parseProperties(s)
		parseCgroup(s)
		parseOSRelease(s)
		UnitFromCgroup(s)
		journalLines(s)
		parseProcNetTCP([]byte(s))
		parseProcNetUnix([]byte(s))
		tokenize(s)
		if r, err := LoadRecording([]byte(s)); err == nil {
			sys := Replay(r)
			sys.Lstat("/x")
			sys.Open("/x")
			sys.Glob("/*")
			sys.Run(context.Background(), "x")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			if c, err := sys.Dial(ctx, "tcp", "a"); err == nil {
				c.Close()
			}
		}
	})
}
