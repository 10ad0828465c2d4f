package checks

import (
	"path"
	"sort"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// FileBlock is a file of nginx's own (a temp, cache, log or root path)
// its workers failed on, and what stops them.
type FileBlock struct {
	host.Block
	// Setting is the directive that names the path ("proxy_temp_path"),
	// with its value and place, when one of the config's does.
	Setting Directive
}

// Directive is nginx.Directive, so that facts need not import nginx.
type Directive = nginx.Directive

// maxOwnFiles bounds the distinct paths looked at: temp file names differ
// per request, their directories do not.
const maxOwnFiles = 16

// readOwnFiles walks, as the worker user, the path of every file of
// nginx's own that the window's log says nginx failed on.
func (s *Snapshot) readOwnFiles() {
	if s.WorkerUserErr != nil {
		return
	}
	seen := map[string]bool{}
	for _, l := range s.ErrorLogs {
		for _, n := range s.windowCounts(l) {
			e := n.Entry()
			if e.Class != logs.FileAccess || e.Target == "" || seen[path.Dir(e.Target)] || len(seen) >= maxOwnFiles {
				continue
			}
			seen[path.Dir(e.Target)] = true
			if b, ok := host.BlockFor(s.Sys, s.WorkerUser, e.Target); ok {
				if s.OwnFiles == nil {
					s.OwnFiles = map[string]host.Block{}
				}
				s.OwnFiles[e.Target] = b
			}
		}
	}
}

// ownFileBlock is what stops the workers at the file a line names: the
// walk made for it or for another file of the same directory.
func (s *Snapshot) ownFileBlock(p string) (host.Block, bool) {
	if b, ok := s.OwnFiles[p]; ok {
		return b, true
	}
	keys := make([]string, 0, len(s.OwnFiles))
	for k := range s.OwnFiles {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if b := s.OwnFiles[k]; strings.HasPrefix(p, b.Dir+"/") {
			return b, true
		}
	}
	return host.Block{}, false
}

// settingFor finds the path directive (a *_temp_path or *_cache_path) whose
// value holds p, and the pass it is in force for.
func (s *Snapshot) settingFor(p string) (nginx.Directive, nginx.Pass, bool) {
	for _, pass := range s.Config.Passes {
		names := make([]string, 0, len(pass.Settings))
		for name := range pass.Settings {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !strings.HasSuffix(name, "_temp_path") && !strings.HasSuffix(name, "_cache_path") {
				continue
			}
			for _, d := range pass.Settings[name] {
				if len(d.Args) > 0 && (p == d.Args[0] || strings.HasPrefix(p, strings.TrimSuffix(d.Args[0], "/")+"/")) {
					return d, pass, true
				}
			}
		}
	}
	return nginx.Directive{}, nginx.Pass{}, false
}

// passOfLine is the pass a log line's request was going through: by the
// upstream it names, else the pass whose path setting holds the file.
func (s *Snapshot) passOfLine(e logs.Entry) (nginx.Pass, bool) {
	if e.Upstream != "" {
		addr := e.Upstream
		if i := strings.Index(addr, "://"); i >= 0 {
			addr = addr[i+3:]
		}
		if i := strings.IndexByte(addr, '/'); i >= 0 && !strings.HasPrefix(addr, "unix:") {
			addr = addr[:i]
		}
		for _, t := range s.Targets {
			if t.Address == addr && len(t.Passes) > 0 && t.Passes[0] < len(s.Config.Passes) {
				return s.Config.Passes[t.Passes[0]], true
			}
		}
	}
	if _, p, ok := s.settingFor(e.Target); ok {
		return p, true
	}
	return nginx.Pass{}, false
}
