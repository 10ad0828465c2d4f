package fixes

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planTimeout raises the read timeout in force at the failing location above
// the backend's measured response time (upstream-timeout, a 504).
func planTimeout(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseUpstreamTimeout {
		return nil
	}
	setting := c.Facts.Setting
	if setting == "" {
		p, ok := passFor(o, c)
		if !ok || p.Module == "" || p.Module == "memcached" {
			return nil
		}
		setting = p.Module + "_read_timeout"
	}
	if !strings.HasSuffix(setting, "_timeout") {
		return nil
	}
	cur, at := settingAt(o, c, setting)
	if f := c.Facts.SettingAt; f != "" {
		at = f
	}
	measured := c.Facts.Took.Seconds()
	// Twice the measured time leaves room for a slow day; below 60s (nginx's
	// default) would make things worse.
	secs := int(math.Ceil(2 * measured))
	if secs < 60 {
		secs = 60
	}
	if len(cur) > 0 {
		if now, ok := parseSeconds(cur[0]); ok && float64(secs) <= now {
			secs = int(math.Ceil(2 * now))
		}
	}
	value := fmt.Sprintf("%ds", secs)
	ed, ok := setDirective(o, c, at, setting, value)
	if !ok {
		return nil
	}
	why := "nginx's default"
	if len(cur) > 0 {
		why = cur[0]
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "timeout"),
			Title: fmt.Sprintf("Raise %s from %s to %s at the failing location", setting, why, value),
			Undo:  "ngxdoctor undo restores the file byte for byte and reloads nginx",
			Warning: "A longer timeout hides a slow backend rather than curing it; " +
				"clients wait up to " + value + " before nginx gives up.",
		},
		edits: []Edit{ed}, nginxEdits: true, revertible: true,
	}}
}

// parseSeconds reads nginx and Go durations: "60", "60s", "1m", "12.5s", "1500ms".
func parseSeconds(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Seconds(), true
	}
	// nginx also writes "1m30s"-like values Go reads, and "1h", "1d": cover days.
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if f, err := strconv.ParseFloat(n, 64); err == nil {
			return f * 86400, true
		}
	}
	return 0, false
}
