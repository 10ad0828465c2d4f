package fixes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planBuffers raises *_buffer_size to fit the measured response header
// (header-too-big) and keeps the buffers nginx checks against it
// consistent, since nginx -t rejects a busy size not below the total of
// the buffers minus one.
func planBuffers(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseHeaderTooBig {
		return nil
	}
	mod := strings.TrimSuffix(c.Facts.Setting, "_buffer_size")
	if mod == "" || mod == c.Facts.Setting {
		p, ok := passFor(o, c)
		if !ok {
			return nil
		}
		mod = p.Module
	}
	switch mod {
	case "proxy", "fastcgi", "uwsgi", "scgi", "grpc":
	default:
		return nil
	}
	curArgs, curAt := settingAt(o, c, mod+"_buffer_size")
	if f := c.Facts.SettingAt; f != "" {
		curAt = f
	}
	cur := 0
	if len(curArgs) > 0 {
		cur, _ = parseSize(curArgs[0])
	}
	inForce := cur
	if inForce == 0 {
		inForce = 4096 // nginx's default on x86: one memory page
	}
	// From the log alone the fact is the buffer the header did not fit,
	// not a measurement: only a size above the buffer was measured.
	measured := c.Facts.HeaderBytes
	if measured <= inForce {
		measured = 0
	}
	// A power of two with a kilobyte to spare, at least 16k: headers grow.
	size := nextPow2(max(measured+1024, 16384, 4*inForce))
	if size <= cur {
		size = nextPow2(2 * cur)
	}
	edits := []Edit{}
	ed, ok := setDirective(o, c, curAt, mod+"_buffer_size", fmtSize(size))
	if !ok {
		return nil
	}
	edits = append(edits, ed)
	if mod != "grpc" {
		n, s := 8, 4096 // nginx's default on x86: one memory page
		bufArgs, bufAt := settingAt(o, c, mod+"_buffers")
		if len(bufArgs) == 2 {
			n, _ = strconv.Atoi(bufArgs[0])
			s, _ = parseSize(bufArgs[1])
		}
		busyArgs, busyAt := settingAt(o, c, mod+"_busy_buffers_size")
		busy, busySet := 0, len(busyArgs) == 1
		if busySet {
			busy, _ = parseSize(busyArgs[0])
		}
		valid := func(n, s, busy int) bool {
			eff := busy
			if !busySet {
				eff = 2 * max(size, s)
			}
			return n >= 2 && s > 0 && eff >= max(size, s) && eff < (n-1)*s
		}
		nn, ns, nb := n, s, busy
		if !valid(nn, ns, nb) {
			nn, ns = max(n, 8), max(s, size/2)
			if busySet {
				nb = size
			}
		}
		if nn != n || ns != s {
			ed, ok := setDirective(o, c, bufAt, mod+"_buffers", strconv.Itoa(nn), fmtSize(ns))
			if !ok {
				return nil
			}
			edits = append(edits, ed)
		}
		if busySet && nb != busy {
			ed, ok := setDirective(o, c, busyAt, mod+"_busy_buffers_size", fmtSize(nb))
			if !ok {
				return nil
			}
			edits = append(edits, ed)
		}
		// An explicit temp_file_write_size must stay at least one buffer too.
		if tw, twAt := settingAt(o, c, mod+"_temp_file_write_size"); len(tw) == 1 && mod != "grpc" {
			if v, _ := parseSize(tw[0]); v < max(size, ns) {
				ed, ok := setDirective(o, c, twAt, mod+"_temp_file_write_size", fmtSize(max(size, ns)))
				if !ok {
					return nil
				}
				edits = append(edits, ed)
			}
		}
	}
	title := fmt.Sprintf("Raise %s_buffer_size to %s", mod, fmtSize(size))
	if measured > 0 {
		title += fmt.Sprintf(" (the backend's header measured %d bytes)", measured)
	} else {
		title += fmt.Sprintf(" (the header did not fit in %s; its size was not measured)", fmtSize(inForce))
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "buffers"),
			Title: title,
			Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
			Warning: "Each connection to this location may use this much more memory; " +
				"a header this big often means a cookie or header that keeps growing.",
		},
		edits: edits, nginxEdits: true, revertible: true,
	}}
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// parseSize reads nginx sizes: "4096", "4k", "8K", "1m".
func parseSize(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	mul := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mul, s = 1024, s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		mul, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"):
		mul, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n * mul, true
}

func fmtSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dm", n>>20)
	case n%1024 == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return strconv.Itoa(n)
}
