// Package report renders an outcome and its fix plans as text, JSON
// (schema ngxdoctor/report/v1) or Markdown.
package report

import (
	"encoding/json"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// Schema is the JSON report's schema name.
const Schema = "ngxdoctor/report/v1"

// Input is what every format renders.
type Input struct {
	Outcome *checks.Outcome
	// Fixes per cause index (same order as Outcome.Causes); nil in read-only mode.
	Fixes [][]fixes.Fix
	// Advice are changes that cure no cause but help the next incident
	// (an upstream log format, monitoring); nil in read-only mode.
	Advice []fixes.Fix
	// ReadOnly: the fixes are shown as previews that nothing applies.
	ReadOnly bool
	// Session is the wizard's record of what happened (nil for check):
	// with it, Markdown writes the incident report (before, actions, after).
	Session *Session
}

// Report is the JSON document; its field names are the contract.
type Report struct {
	// Advice: optional changes for the next incident (step 8's log format, step 10's monitoring).
	Advice []Fix  `json:"advice"`
	Schema string `json:"schema"`
	// Host is the machine diagnosed; absent when unknown (a recording made
	// before host facts were read). GeneratedAt is the host's clock when
	// the evidence was collected, RFC 3339.
	Host        *Host          `json:"host,omitempty"`
	GeneratedAt string         `json:"generated_at"`
	Nginx       Nginx          `json:"nginx"`
	Window      Window         `json:"window"`
	Verdict     checks.Verdict `json:"verdict"`
	// Complete is false when the run was interrupted or a collection phase
	// did not finish (Unfinished says which); the verdict is then never "ok".
	Complete   bool                `json:"complete"`
	Unfinished []string            `json:"unfinished,omitempty"`
	Causes     []Cause             `json:"causes"`
	Steps      []checks.StepResult `json:"steps"`
	Targets    []Target            `json:"targets"`
	Notes      []string            `json:"notes,omitempty"`
	// DurationMS is how long the diagnosis took.
	DurationMS int64 `json:"duration_ms"`
}

// Host is the machine: name, OS ("debian 12.8"), kernel, uptime in seconds.
type Host struct {
	Name    string `json:"name"`
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	UptimeS int64  `json:"uptime_s"`
}

type Nginx struct {
	Binary     string     `json:"binary"`
	Version    string     `json:"version"`
	Config     string     `json:"config"`
	Running    bool       `json:"running"`
	MasterPID  int32      `json:"master_pid,omitempty"`
	WorkerUser string     `json:"worker_user"`
	ConfigTest ConfigTest `json:"config_test"`
	// Masters are every nginx master on the host; Chosen says which was
	// taken and why (or, with -c naming a stopped nginx, that none was).
	Masters []Master `json:"masters"`
	Chosen  string   `json:"chosen,omitempty"`
}

// Master is one running nginx master and the config it runs.
type Master struct {
	PID     int32  `json:"pid"`
	Config  string `json:"config"`
	Binary  string `json:"binary"`
	Started string `json:"started,omitempty"`
}

type ConfigTest struct {
	OK     bool   `json:"ok"`
	Output string `json:"output"`
}

type Window struct {
	Since      *time.Time `json:"since"`
	ErrorLogs  []string   `json:"error_logs"`
	AccessLogs []string   `json:"access_logs"`
	LinesRead  int        `json:"lines_read"`
}

type Cause struct {
	ID          string   `json:"id"`
	Target      string   `json:"target"`
	Summary     string   `json:"summary"`
	Confidence  string   `json:"confidence"`
	Occurrences int      `json:"occurrences"`
	Evidence    []string `json:"evidence"`
	// Requests are the failing requests through nginx the cause explains.
	Requests []string `json:"requests,omitempty"`
	Fixes    []Fix    `json:"fixes"`
}

type Fix struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Commands  [][]string `json:"commands"`
	Diff      string     `json:"diff"`
	Undo      string     `json:"undo"`
	Transient bool       `json:"transient,omitempty"`
	Warning   string     `json:"warning,omitempty"`
	// NotOffered says why an advice cannot be applied here.
	NotOffered string `json:"not_offered,omitempty"`
}

type Target struct {
	Kind         string    `json:"kind"`
	Address      string    `json:"address"`
	Upstream     string    `json:"upstream,omitempty"`
	ReferencedAt []string  `json:"referenced_at"`
	Probe        Probe     `json:"probe"`
	Listener     *Listener `json:"listener,omitempty"`
}

type Probe struct {
	Result string  `json:"result"`
	MS     float64 `json:"ms"`
	Error  string  `json:"error,omitempty"`
	HTTP   *HTTP   `json:"http,omitempty"`
}

type HTTP struct {
	Protocol    string  `json:"protocol"`
	Status      int     `json:"status,omitempty"`
	TTFBMS      float64 `json:"ttfb_ms"`
	HeaderBytes int     `json:"header_bytes,omitempty"`
	Error       string  `json:"error,omitempty"`
}

type Listener struct {
	PID     int32  `json:"pid"`
	Process string `json:"process"`
	User    string `json:"user"`
	Address string `json:"address"`
	Queue   int    `json:"queue"`
	Backlog int    `json:"backlog"`
}

// Build makes the JSON document's structure from an outcome.
func Build(in Input) Report {
	o := in.Outcome
	s := o.Snapshot
	r := Report{
		Schema:  Schema,
		Verdict: o.Verdict,
		Steps:   o.Steps,
		Notes:   s.Notes,
		Nginx: Nginx{Binary: s.Install.Binary, Version: s.Install.Version, Config: s.Install.Config,
			Running: s.Install.Running, MasterPID: s.Install.MasterPID, WorkerUser: s.WorkerUser.Name,
			ConfigTest: ConfigTest{OK: s.ConfigTest.OK, Output: s.ConfigTest.Output}},
		DurationMS: o.Duration.Milliseconds(),
		Causes:     []Cause{},
		Targets:    []Target{},
	}
	r.Complete, r.Unfinished = o.Complete, o.Unfinished
	r.Nginx.Masters, r.Nginx.Chosen = []Master{}, s.Install.Chosen
	for _, m := range s.Install.Masters {
		rm := Master{PID: m.PID, Config: m.Config, Binary: m.Binary}
		if !m.Started.IsZero() {
			rm.Started = m.Started.UTC().Format(time.RFC3339)
		}
		r.Nginx.Masters = append(r.Nginx.Masters, rm)
	}
	if s.MachineErr == nil && s.Machine.Name != "" {
		m := s.Machine
		r.Host = &Host{Name: m.Name, OS: m.OS, Kernel: m.Kernel, UptimeS: int64(m.Uptime / time.Second)}
	}
	r.GeneratedAt = generatedAt(o).Format(time.RFC3339)
	if r.Nginx.WorkerUser == "" {
		r.Nginx.WorkerUser = s.Install.WorkerUser
	}
	if !s.Since.IsZero() {
		t := s.Since.UTC()
		r.Window.Since = &t
	}
	r.Window.ErrorLogs, r.Window.AccessLogs = []string{}, []string{}
	for _, l := range s.ErrorLogs {
		r.Window.ErrorLogs = append(r.Window.ErrorLogs, l.Path)
		r.Window.LinesRead += l.LinesRead
	}
	for _, l := range s.Access {
		r.Window.AccessLogs = append(r.Window.AccessLogs, l.Path)
		r.Window.LinesRead += l.LinesRead
	}
	for i, c := range o.Causes {
		rc := Cause{ID: string(c.ID), Target: c.Target, Summary: c.Summary, Confidence: string(c.Confidence),
			Occurrences: c.Occurrences, Evidence: c.Evidence, Requests: c.Requests, Fixes: []Fix{}}
		if rc.Evidence == nil {
			rc.Evidence = []string{}
		}
		if i < len(in.Fixes) {
			for _, f := range in.Fixes[i] {
				rc.Fixes = append(rc.Fixes, fixOf(f))
			}
		}
		r.Causes = append(r.Causes, rc)
	}
	r.Advice = []Fix{}
	for _, f := range in.Advice {
		r.Advice = append(r.Advice, fixOf(f))
	}
	for _, t := range s.Targets {
		rt := Target{Kind: t.Kind, Address: t.Address, Upstream: t.Upstream, ReferencedAt: []string{}}
		for _, p := range t.ReferencedAt {
			rt.ReferencedAt = append(rt.ReferencedAt, p.String())
		}
		p, ok := s.Probes[t.Address]
		switch {
		case !ok:
			rt.Probe = Probe{Result: "skipped"}
		default:
			rt.Probe = Probe{Result: string(p.Status), MS: ms(p.Duration), Error: p.Error}
			if h := p.HTTP; h != nil {
				rt.Probe.HTTP = &HTTP{Protocol: h.Protocol, Status: h.Status, TTFBMS: ms(h.TTFB), HeaderBytes: h.HeaderBytes, Error: h.Error}
			}
		}
		if l, ok := listenerOf(s, t.Address); ok {
			rt.Listener = &Listener{PID: l.PID, Process: l.Process, User: l.User, Address: l.Address, Queue: l.Queue, Backlog: l.Backlog}
		}
		r.Targets = append(r.Targets, rt)
	}
	return r
}

// generatedAt is when the evidence was read, on the host's clock (a
// replayed recording keeps its own moment).
func generatedAt(o *checks.Outcome) time.Time {
	if o.Snapshot != nil && !o.Snapshot.Taken.IsZero() {
		return o.Snapshot.Taken.UTC()
	}
	return o.Started.UTC()
}

// hostLine is the text and Markdown reports' host line.
func hostLine(o *checks.Outcome) string {
	s := o.Snapshot
	if s.MachineErr != nil || s.Machine.Name == "" {
		return ""
	}
	return s.Machine.String()
}

// JSON renders the report as indented JSON.
func JSON(in Input) ([]byte, error) {
	b, err := json.MarshalIndent(Build(in), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func listenerOf(s *checks.Snapshot, addr string) (host.Listener, bool) {
	for _, t := range s.Targets {
		if t.Address == addr {
			return checks.ListenerFor(s.Listeners, t)
		}
	}
	return host.Listener{}, false
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func nonNil(c [][]string) [][]string {
	if c == nil {
		return [][]string{}
	}
	return c
}

func fixOf(f fixes.Fix) Fix {
	return Fix{ID: f.ID, Title: f.Title, Commands: nonNil(f.Commands), Diff: f.Diff, Undo: f.Undo, Transient: f.Transient, Warning: f.Warning, NotOffered: f.NotOffered}
}
