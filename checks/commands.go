package checks

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// The commands each check lists for doing it by hand (Result.Manual) are
// this machine's: the nginx binary and the -c of the config diagnosed, the
// error logs it writes, where it serves stub_status, the worker user. The
// wizard, the Markdown report and the JSON all show these same strings.

// defaultErrorLog is named only when nothing says where the log is.
const defaultErrorLog = "/var/log/nginx/error.log"

// nginxCmd is `nginx FLAG -c CONFIG` for the config at hand: the bare name
// when `nginx` on PATH is the binary diagnosed (or nothing says which),
// else its full path.
func (s *Snapshot) nginxCmd(flag string) string {
	bin := "nginx"
	if b := s.Install.Binary; b != "" && b != bin {
		if p, err := s.Sys.LookPath("nginx"); err == nil && p != b || err != nil && !errors.Is(err, host.ErrNotRecorded) {
			bin = b
		}
	}
	cmd := shellWord(bin) + " " + flag
	if c := s.Install.Config; c != "" {
		cmd += " -c " + shellWord(c)
	}
	return cmd
}

// nginxGrep is `nginx -T -c CONFIG 2>/dev/null | grep ARGS`.
func (s *Snapshot) nginxGrep(args string) string {
	return s.nginxCmd("-T") + " 2>/dev/null | grep " + args
}

// errorLogPaths are the error logs read, else those the config names,
// else nginx's compiled default.
func (s *Snapshot) errorLogPaths() []string {
	var out []string
	for _, l := range s.ErrorLogs {
		out = append(out, l.Path)
	}
	if len(out) == 0 && s.Config != nil {
		for _, l := range s.Config.ErrorLogs {
			if p, skip := s.logPath(l.Path); skip == "" {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		if p, skip := s.logPath(s.Install.ErrorLogDefault); skip == "" && p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = append(out, defaultErrorLog)
	}
	return dedupe(out)
}

// stubStatusURL is where this config serves stub_status: the listen
// address of the server block around it and the location it sits in,
// read from the file ("" when it has none).
func (s *Snapshot) stubStatusURL() string {
	if s.Config == nil || len(s.Config.StubStatus) == 0 {
		return ""
	}
	at := s.Config.StubStatus[0]
	listen := ""
	best := -1
	for _, sv := range s.Config.Servers {
		if sv.At.File == at.File && sv.At.Line <= at.Line && sv.At.Line > best && len(sv.Listen) > 0 {
			best, listen = sv.At.Line, sv.Listen[0]
		}
	}
	switch {
	case listen == "":
		listen = "127.0.0.1"
	case !strings.Contains(listen, ":"):
		listen = "127.0.0.1:" + listen
	case strings.HasPrefix(listen, "*:"), strings.HasPrefix(listen, "0.0.0.0:"):
		listen = "127.0.0.1" + listen[strings.Index(listen, ":"):]
	case strings.HasPrefix(listen, "[::]:"):
		listen = "[::1]" + listen[4:]
	}
	path := "/"
	if f, err := s.Sys.Open(at.File); err == nil {
		buf := make([]byte, min(f.Size(), 1<<20))
		n, _ := f.ReadAt(buf, 0)
		f.Close()
		lines := strings.Split(string(buf[:n]), "\n")
		for i := min(at.Line-1, len(lines)-1); i >= 0; i-- {
			if fl := strings.Fields(lines[i]); len(fl) >= 2 && fl[0] == "location" {
				path = fl[len(fl)-2]
				if path == "{" || strings.HasPrefix(path, "~") || path == "=" {
					path = fl[1]
				}
				break
			}
		}
	}
	return "http://" + listen + path
}

// ProgramsOf are the programs a command line runs: the first word of each
// part of a pipe, &&, || or ;, after `sudo -u USER` and VAR=value. Quotes
// and backslashes are honoured, so a grep pattern's "(a|b)" is no pipe, and
// a "# comment" ends the line.
func ProgramsOf(cmd string) []string {
	var out []string
	for _, words := range shellCommands(cmd) {
		f := words
		for len(f) > 0 {
			switch {
			case f[0] == "sudo":
				f = f[1:]
				if len(f) >= 2 && f[0] == "-u" {
					f = f[2:]
				}
			case strings.Contains(f[0], "=") && !strings.Contains(f[0], "/"):
				f = f[1:]
			default:
				out = append(out, f[0])
				f = nil
			}
		}
	}
	return out
}

// shellCommands splits a command line as sh would into its simple
// commands' words: enough for the commands ngxdoctor writes itself.
func shellCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				w.WriteByte(line[i])
			}
			inWord = true
		case c == '#' && !inWord:
			endCmd()
			return cmds
		case c == '|' || c == ';' || c == '&':
			endCmd()
			for i+1 < len(line) && (line[i+1] == '|' || line[i+1] == '&') {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n':
			endWord()
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// shellWord is s as one shell word: as it is when it holds only
// characters no shell reads specially, else in single quotes. Paths from
// the config, the logs and the clients' requests (which anyone can send)
// go into commands a person pastes: none may run anything.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return quoted(s)
}

// quoted is s in single quotes; a quote inside closes them, adds an
// escaped quote and opens them again.
func quoted(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// toolCache remembers which programs are on PATH: ten steps list the
// same few.
type toolCache struct {
	mu    sync.Mutex
	known map[string]bool // true: installed
}

// notInstalled are the programs of cmds that this host does not have. A
// recording that never looked a program up cannot say it is missing, so
// such a program is not named.
func (s *Snapshot) notInstalled(cmds []string) []string {
	if s.tools == nil || s.Sys == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cmds {
		for _, p := range ProgramsOf(c) {
			if seen[p] {
				continue
			}
			seen[p] = true
			if !s.tools.installed(s.Sys, p) {
				out = append(out, filepath.Base(p))
			}
		}
	}
	return out
}

func (c *toolCache) installed(sys host.System, name string) bool {
	c.mu.Lock()
	ok, seen := c.known[name]
	c.mu.Unlock()
	if seen {
		return ok
	}
	_, err := sys.LookPath(name)
	ok = err == nil || errors.Is(err, host.ErrNotRecorded)
	c.mu.Lock()
	c.known[name] = ok
	c.mu.Unlock()
	return ok
}
