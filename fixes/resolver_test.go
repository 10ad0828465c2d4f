package fixes

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// serveA answers every A query on 127.0.0.1:53 with 127.0.0.1 (other
// types get an empty answer): a nameserver for the resolver fix to find in
// resolv.conf, which names no port.
func serveA(t *testing.T) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:53")
	labtest.Need(t, err == nil, fmt.Sprintf("a nameserver for the test needs 127.0.0.1:53: %v", err))
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			if len(q) < 12 {
				continue
			}
			i := 12
			for i < len(q) && q[i] != 0 {
				i += int(q[i]) + 1
			}
			end := i + 5
			if end > len(q) {
				continue
			}
			r := append([]byte(nil), q[:end]...)
			r[2] = 0x80 | q[2]&0x79
			r[3] = 0x80
			binary.BigEndian.PutUint16(r[4:], 1)
			clear(r[6:12])
			if binary.BigEndian.Uint16(q[i+1:]) == 1 { // A
				binary.BigEndian.PutUint16(r[6:], 1)
				r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 1)
			}
			pc.WriteTo(r, from)
		}
	}()
}

// TestResolverFixBecomes200: a variable proxy_pass without a resolver
// fails with 502; the fix adds the system's nameserver in the location, in
// a multi-line and a one-line location alike, and undo restores the file.
func TestResolverFixBecomes200(t *testing.T) {
	needRoot(t)
	serveA(t)
	_, port := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	target := fmt.Sprintf("app.lab.test:%d", port)
	for name, loc := range map[string]string{
		"multi-line": "        location /app/ {\n            set $b app.lab.test;\n            proxy_pass http://$b:" + fmt.Sprint(port) + ";\n        }\n",
		"one-line":   "        location /app/ { set $b app.lab.test; proxy_pass http://$b:" + fmt.Sprint(port) + "; }\n",
	} {
		t.Run(name, func(t *testing.T) {
			l := startNginx(t, worldDir(t), "    server {\n        listen 127.0.0.1:{{PORT}};\n"+loc+"    }\n")
			l.wantStatus("/app/x", 502)
			before := readFile(t, l.Conf)
			cause := checks.Cause{ID: checks.CauseNoResolver, Target: target, Facts: checks.Facts{
				LocationAt: l.at("location /app/"), PassAt: l.at("proxy_pass"),
			}}
			pass := nginx.Pass{Directive: "proxy_pass", Value: "http://$b:" + fmt.Sprint(port), At: l.pos("proxy_pass"),
				Server: 0, Location: "/app/", Module: "proxy", Scheme: "http", Address: target, Settings: nginx.Settings{}}
			o := l.outcome([]nginx.Pass{pass}, cause)
			e := testEngine(t)
			e.ResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
			os.WriteFile(e.ResolvConf, []byte("nameserver 127.0.0.1\n"), 0o644)
			f := fixByKind(t, e.For(o, cause), "resolver")
			t.Logf("%s\n%s", f.Title, f.Diff)
			a := apply(t, e, o, f)
			if !a.Verified {
				t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
			}
			l.wantStatus("/app/x", 200)
			undo(t, e, "")
			if readFile(t, l.Conf) != before {
				t.Fatal("undo did not restore the config byte for byte")
			}
			l.wantStatus("/app/x", 502)
		})
	}
}
