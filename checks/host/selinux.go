package host

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
)

const (
	// maxDenials keeps the report readable; the newest denials are kept.
	maxDenials = 20
	// auditTail is how much of audit.log is read when ausearch is missing.
	auditTail = 1 << 20
)

// readSmall reads the start of a small file such as a sysfs flag. It ignores
// Size, which sysfs and procfs do not report truthfully.
func readSmall(sys System, path string, n int) (string, error) {
	f, err := sys.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(string(buf[:got])), nil
}

// readTail reads the last n bytes of a file, dropping a first partial line.
func readTail(sys System, path string, n int64) (string, error) {
	f, err := sys.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	off := max(f.Size()-n, 0)
	buf := make([]byte, f.Size()-off)
	got, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	s := string(buf[:got])
	if off > 0 {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s, nil
}

// ReadSELinux reads the SELinux mode, the httpd_can_network_connect boolean
// and recent AVC denials naming nginx. Without SELinux it says so in Note.
func ReadSELinux(ctx context.Context, sys System) SELinux {
	var se SELinux
	var notes []string
	if v, err := readSmall(sys, "/sys/fs/selinux/enforce", 16); err == nil {
		se.Available = true
		se.Mode = map[string]string{"1": "enforcing", "0": "permissive"}[v]
	}
	if se.Mode == "" {
		out, err := runFact(ctx, sys, "getenforce")
		if toolProblem("getenforce", out, err) == "" {
			if m := strings.ToLower(firstLine(string(out.Stdout))); m != "" {
				se.Available, se.Mode = true, m
			}
		}
	}
	if !se.Available {
		se.Note = "SELinux is not present (no /sys/fs/selinux/enforce, no getenforce)"
		return se
	}
	if se.Mode == "disabled" {
		return se
	}

	out, err := runFact(ctx, sys, "getsebool", "httpd_can_network_connect")
	if p := toolProblem("getsebool", out, err); p == "" {
		// "httpd_can_network_connect --> on"
		se.NetworkConnect = strings.HasSuffix(firstLine(string(out.Stdout)), "on")
	} else if v, ferr := readSmall(sys, "/sys/fs/selinux/booleans/httpd_can_network_connect", 16); ferr == nil {
		// "1 1": the current value, then the pending one.
		se.NetworkConnect = strings.HasPrefix(v, "1")
	} else {
		notes = append(notes, p)
	}

	se.Denials, notes = readDenials(ctx, sys, notes)
	se.Note = strings.Join(notes, "; ")
	return se
}

func readDenials(ctx context.Context, sys System, notes []string) ([]string, []string) {
	out, err := runFact(ctx, sys, "ausearch", "-m", "avc", "-ts", "recent")
	var text string
	switch {
	case err == nil && out.ExitCode == 0:
		text = string(out.Stdout)
	case err == nil && strings.Contains(string(out.Stderr)+string(out.Stdout), "<no matches>"):
		return nil, notes // ausearch exits 1 when nothing matched
	default:
		if errors.Is(err, exec.ErrNotFound) {
			notes = append(notes, "ausearch is not installed; read the end of audit.log")
		}
		t, ferr := readTail(sys, "/var/log/audit/audit.log", auditTail)
		if ferr != nil {
			notes = append(notes, "no AVC denials readable: "+ferr.Error())
			return nil, notes
		}
		text = t
	}
	var denials []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "avc:  denied") && (strings.Contains(line, "nginx") || strings.Contains(line, "httpd_t")) {
			denials = append(denials, strings.TrimSpace(line))
		}
	}
	if len(denials) > maxDenials {
		denials = denials[len(denials)-maxDenials:]
	}
	return denials, notes
}
