package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// DemoPlayer plays a fix on a recorded incident: Apply changes nothing on
// this machine and answers as the engine would for the recorded fix; the
// checks then run again on After, the same recording with the socket
// fixed (group www-data, mode 0660) and nginx answering 200.
func DemoPlayer(rec *host.Recording) (after host.System, apply func(context.Context, *checks.Outcome, fixes.Fix, fixes.Options) (fixes.Applied, error)) {
	fixed := fixedRecording(rec)
	apply = func(ctx context.Context, o *checks.Outcome, f fixes.Fix, opts fixes.Options) (fixes.Applied, error) {
		a := fixes.Applied{Fix: f, JournalID: "demo-" + strings.ReplaceAll(f.Cause, ":", "-")}
		logf := func(format string, args ...any) {
			l := fmt.Sprintf(format, args...)
			a.Log = append(a.Log, l)
			if opts.Progress != nil {
				opts.Progress(l)
			}
		}
		logf("demo: the recording is changed, not this machine")
		for _, c := range f.Commands {
			logf("done: %s", strings.Join(c, " "))
		}
		if len(f.Commands) == 0 && f.Diff != "" {
			logf("wrote the change shown in the diff")
		}
		if req := failingURL(o); req != "" {
			logf("verify: %s through nginx answers 200", req)
		}
		logf("verified")
		a.Verified = true
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(300 * time.Millisecond): // the engine watches the log a moment
		}
		return a, nil
	}
	return host.Replay(fixed), apply
}

// failingURL is the request the recording's step 9 made through nginx.
func failingURL(o *checks.Outcome) string {
	if o == nil {
		return ""
	}
	for _, sr := range o.Steps {
		if sr.Number != 9 {
			continue
		}
		for _, c := range sr.Checks {
			for _, e := range c.Evidence {
				if f := strings.Fields(e); len(f) >= 2 && (f[0] == "GET" || f[0] == "HEAD") {
					return f[0] + " " + f[1]
				}
			}
		}
	}
	return ""
}

// fixedRecording is rec after the socket fix: a copy, so the incident
// itself stays as recorded.
func fixedRecording(rec *host.Recording) *host.Recording {
	b, err := json.Marshal(rec)
	if err != nil {
		return rec
	}
	var r host.Recording
	if json.Unmarshal(b, &r) != nil {
		return rec
	}
	r.Now = r.Now.Add(10 * time.Second)
	for p, f := range r.Files {
		if f.Stat != nil && f.Stat.Mode&fs.ModeSocket != 0 {
			f.Stat.Mode = fs.ModeSocket | 0o660
			f.Stat.GID = 33
			r.Files[p] = f
		}
	}
	if r.Groups == nil {
		r.Groups = map[string]string{}
	}
	r.Groups["33"] = "www-data"
	for k, d := range r.Dials {
		if strings.HasPrefix(d.Response, "HTTP/1.1 502") {
			d.Response = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
			r.Dials[k] = d
		}
	}
	return &r
}
