package checks

import (
	"fmt"
	"path"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

// nginx-file-access: nginx fails on a file of its own (a temp file for a
// big or cached response, a cache directory, a log, a file under root):
// the fault is on nginx's side of the proxy, not the backend's. The target
// is the directory that blocks the workers; Facts.Blocker has it and the
// least permission change.
var nginxFileAccessRule = Rule{
	ID:        CauseNginxFileAccess,
	Step:      6,
	LogProves: true,
	Unattached: func(s *Snapshot, e logs.Entry) (Cause, bool) {
		if e.Class != logs.FileAccess || e.Target == "" {
			return Cause{}, false
		}
		user := s.WorkerUser.Name
		setting := ""
		d, _, hasSetting := s.settingFor(e.Target)
		facts := Facts{WorkerUser: user}
		if pass, ok := s.passOfLine(e); ok {
			// The request to replay after a fix goes through this pass.
			facts.PassAt, facts.LocationAt = pass.At.String(), pass.At.String()
		}
		if hasSetting {
			setting = fmt.Sprintf(" (%s %s, %s)", d.Name, strings.Join(d.Args, " "), d.At)
		}
		b, ok := s.ownFileBlock(e.Target)
		if !ok {
			c := Cause{ID: CauseNginxFileAccess, Target: path.Dir(e.Target), Confidence: Medium, Facts: facts,
				Summary: fmt.Sprintf("nginx fails on its own file %s%s (%s): this is nginx's side, not the backend's. %s",
					e.Target, setting, errnoPhrase(e.Errno), ownFileHint(s, e.Errno))}
			return c, true
		}
		fb := &FileBlock{Block: b}
		if hasSetting {
			fb.Setting = d
		}
		c := Cause{ID: CauseNginxFileAccess, Target: b.Dir, Confidence: High,
			Summary: fmt.Sprintf("nginx's workers (%s) cannot reach its own file %s%s: %s. This is nginx's side, not the backend's; the least change is `%s`.",
				user, e.Target, setting, b.Reason, strings.Join(b.Change, " ")),
			Evidence: []string{fmt.Sprintf("path walked as %s: %s %s %s blocks %s (%s)", user, b.Dir, b.Owner, b.Mode, b.Need, b.Reason)},
			Facts:    facts}
		c.Facts.Blocker = fb
		if hasSetting {
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", d.Name, strings.Join(d.Args, " "), d.At))
		}
		return c, true
	},
}

// errnoPhrase writes an errno as nginx does: "13: Permission denied".
func errnoPhrase(n int) string {
	return map[int]string{1: "1: Operation not permitted", 2: "2: No such file or directory", 13: "13: Permission denied",
		28: "28: No space left on device", 30: "30: Read-only file system", 122: "122: Disk quota exceeded"}[n]
}

// ownFileHint says what to look at when the mode bits do not explain it.
func ownFileHint(s *Snapshot, errno int) string {
	switch {
	case errno == 28 || errno == 122:
		return "The file system is full: free space there (df -h) or move the path."
	case errno == 30:
		return "The file system is mounted read-only: move the path to a writable one."
	case errno == 2:
		return "Its directory is gone: reload nginx (it creates its temp and cache directories at start) or create it for the worker user."
	case s.selinuxEnforcing():
		return "The mode bits let the workers through and SELinux is enforcing: look for an AVC denial on this path (ausearch -m avc -c nginx)."
	}
	return "The mode bits along the path do not explain it (as read now): check ACLs (getfacl) and the mount's options."
}
