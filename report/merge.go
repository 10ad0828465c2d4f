package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Merge reads the JSON reports of many hosts (`check --format json` run on
// each, by Ansible or anything else) and makes one host × cause table.
// It reads only what the table needs and tolerates what older reports
// lack (host, generated_at); a report it cannot read is a host that could
// not be checked, never one that is ok.

// FleetSchema is the merged JSON document's schema name.
const FleetSchema = "ngxdoctor/merge/v1"

// MaxReportBytes bounds one report: a real one is kilobytes to a few
// megabytes (200 backends); a larger file is not a report.
const MaxReportBytes = 64 << 20

// The states of a host in the merged table, worst first.
const (
	HostNotChecked = "not-checked" // no report, or one that cannot be read
	HostIncomplete = "incomplete"  // the run did not finish: what it found is shown, but it is not a clean bill
	HostProblem    = "problem"     // at least one cause
	HostOK         = "ok"
)

// Fleet is the merged table.
type Fleet struct {
	Schema string      `json:"schema"`
	Hosts  []FleetHost `json:"hosts"`
	// ByCause says, for each cause id, which hosts have it.
	ByCause []FleetCauseHosts `json:"by_cause"`
	// ExitCode is the worst of the hosts: 0 ok, 1 causes, 2 not checked or incomplete.
	ExitCode int `json:"exit_code"`
}

// FleetHost is one host's row.
type FleetHost struct {
	// Name is the host's name from its report, else the report's file name.
	Name string `json:"name"`
	// Source is the file (or "stdin #N") the report came from.
	Source  string `json:"source"`
	OS      string `json:"os,omitempty"`
	Kernel  string `json:"kernel,omitempty"`
	UptimeS *int64 `json:"uptime_s,omitempty"`
	// GeneratedAt is when the report was made, when it says so.
	GeneratedAt *time.Time `json:"generated_at,omitempty"`
	Status      string     `json:"status"`
	// Summary is the report's verdict, or why the host could not be checked.
	Summary string       `json:"summary"`
	Causes  []FleetCause `json:"causes"`
}

// FleetCause is one cause on one host.
type FleetCause struct {
	ID          string `json:"id"`
	Target      string `json:"target"`
	Summary     string `json:"summary"`
	Confidence  string `json:"confidence,omitempty"`
	Occurrences int    `json:"occurrences"`
}

// FleetCauseHosts is a cause id and the hosts that have it.
type FleetCauseHosts struct {
	ID    string   `json:"id"`
	Hosts []string `json:"hosts"`
}

// reportView is the part of a report merge reads. The host object and
// generated_at are optional (reports made before they existed); the
// complete flag is read where a report may carry it.
type reportView struct {
	Schema *string `json:"schema"`
	Host   *struct {
		Name    string `json:"name"`
		OS      string `json:"os"`
		Kernel  string `json:"kernel"`
		UptimeS *int64 `json:"uptime_s"`
	} `json:"host"`
	GeneratedAt string `json:"generated_at"`
	Complete    *bool  `json:"complete"`
	Verdict     *struct {
		Status   string `json:"status"`
		Summary  string `json:"summary"`
		Complete *bool  `json:"complete"`
	} `json:"verdict"`
	Causes []struct {
		ID          string `json:"id"`
		Target      string `json:"target"`
		Summary     string `json:"summary"`
		Confidence  string `json:"confidence"`
		Occurrences int    `json:"occurrences"`
	} `json:"causes"`
}

// ReadReport reads one JSON report. A document that is not an ngxdoctor
// report of a known schema is an error saying what it is instead.
func ReadReport(data []byte) (FleetHost, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return FleetHost{}, errors.New("empty: the check printed nothing")
	}
	if trimmed[0] != '{' {
		return FleetHost{}, fmt.Errorf("not a JSON report: %s", firstLine(trimmed))
	}
	var v reportView
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&v); err != nil {
		return FleetHost{}, fmt.Errorf("not a valid JSON report: %v", err)
	}
	if dec.More() {
		return FleetHost{}, errors.New("more than one JSON document (give JSON lines on stdin with -)")
	}
	switch {
	case v.Schema == nil:
		return FleetHost{}, errors.New("not an ngxdoctor report: no schema")
	case *v.Schema != Schema:
		return FleetHost{}, fmt.Errorf("schema %q: this ngxdoctor reads %s", clip(*v.Schema, 60), Schema)
	case v.Verdict == nil:
		return FleetHost{}, errors.New("the report has no verdict")
	}
	h := FleetHost{Summary: clean(v.Verdict.Summary), Causes: []FleetCause{}}
	if v.Host != nil {
		h.Name, h.OS, h.Kernel, h.UptimeS = clean(v.Host.Name), clean(v.Host.OS), clean(v.Host.Kernel), v.Host.UptimeS
	}
	if t, err := time.Parse(time.RFC3339, v.GeneratedAt); err == nil {
		t = t.UTC()
		h.GeneratedAt = &t
	}
	for _, c := range v.Causes {
		if c.ID == "" {
			return FleetHost{}, errors.New("a cause without an id")
		}
		h.Causes = append(h.Causes, FleetCause{ID: clean(c.ID), Target: clean(c.Target), Summary: clean(c.Summary),
			Confidence: clean(c.Confidence), Occurrences: c.Occurrences})
	}
	incomplete := (v.Complete != nil && !*v.Complete) || (v.Verdict.Complete != nil && !*v.Verdict.Complete)
	switch {
	case incomplete || v.Verdict.Status == HostIncomplete:
		h.Status = HostIncomplete
	case len(h.Causes) > 0 || v.Verdict.Status == "problem":
		h.Status = HostProblem
	case v.Verdict.Status == "ok":
		h.Status = HostOK
	default:
		// A verdict this version does not know is not a clean bill.
		h.Status = HostIncomplete
		h.Summary = fmt.Sprintf("verdict %q: %s", clip(clean(v.Verdict.Status), 40), h.Summary)
	}
	return h, nil
}

// ReadFile reads one host's report; a missing or unreadable file is a
// host that could not be checked.
func ReadFile(path string) FleetHost {
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	f, err := os.Open(path)
	if err != nil {
		return notChecked(name, path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxReportBytes+1))
	if err != nil {
		return notChecked(name, path, err)
	}
	if len(data) > MaxReportBytes {
		return notChecked(name, path, fmt.Errorf("larger than %d MiB: not a report", MaxReportBytes>>20))
	}
	h, err := ReadReport(data)
	if err != nil {
		return notChecked(name, path, err)
	}
	h.Source = path
	if h.Name == "" {
		h.Name = name
	}
	return h
}

// ReadStream reads reports from one stream: JSON lines, or whole
// (indented) reports one after another. A document that cannot be read
// is listed, and reading goes on at the next line that starts with "{".
func ReadStream(r io.Reader, source string) []FleetHost {
	data, err := io.ReadAll(io.LimitReader(r, 16*MaxReportBytes+1))
	if err != nil {
		return []FleetHost{notChecked(source, source, err)}
	}
	if len(data) > 16*MaxReportBytes {
		return []FleetHost{notChecked(source, source, fmt.Errorf("larger than %d MiB", 16*MaxReportBytes>>20))}
	}
	var out []FleetHost
	for n := 1; ; n++ {
		data = bytes.TrimLeftFunc(data, unicode.IsSpace)
		if len(data) == 0 {
			break
		}
		src := fmt.Sprintf("%s #%d", source, n)
		var raw json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&raw); err != nil {
			// Skip to where the next report may start.
			bad := data
			if next := bytes.Index(data[1:], []byte("\n{")); next >= 0 {
				bad, data = data[:1+next], data[1+next:]
			} else {
				data = nil
			}
			_, err := ReadReport(bad)
			if err == nil {
				err = errors.New("not a valid JSON report")
			}
			out = append(out, notChecked(src, src, err))
			continue
		}
		data = data[dec.InputOffset():]
		h, err := ReadReport(raw)
		if err != nil {
			out = append(out, notChecked(src, src, err))
			continue
		}
		h.Source = src
		if h.Name == "" {
			h.Name = src
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		out = append(out, notChecked(source, source, errors.New("no report in the input")))
	}
	return out
}

func notChecked(name, source string, err error) FleetHost {
	// The row names the file already: "no such file or directory" is enough.
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return FleetHost{Name: clean(name), Source: clean(source), Status: HostNotChecked, Summary: clip(clean(err.Error()), 300), Causes: []FleetCause{}}
}

// MergeHosts makes the table: worst hosts first, then by name.
func MergeHosts(hosts []FleetHost) Fleet {
	f := Fleet{Schema: FleetSchema, Hosts: append([]FleetHost{}, hosts...), ByCause: []FleetCauseHosts{}}
	sort.SliceStable(f.Hosts, func(i, j int) bool {
		a, b := rank(f.Hosts[i].Status), rank(f.Hosts[j].Status)
		if a != b {
			return a > b
		}
		return f.Hosts[i].Name < f.Hosts[j].Name
	})
	by := map[string][]string{}
	for _, h := range f.Hosts {
		seen := map[string]bool{}
		for _, c := range h.Causes {
			if !seen[c.ID] {
				seen[c.ID] = true
				by[c.ID] = append(by[c.ID], h.Name)
			}
		}
		f.ExitCode = max(f.ExitCode, exitOf(h.Status))
	}
	for id, hs := range by {
		f.ByCause = append(f.ByCause, FleetCauseHosts{ID: id, Hosts: hs})
	}
	sort.Slice(f.ByCause, func(i, j int) bool {
		if len(f.ByCause[i].Hosts) != len(f.ByCause[j].Hosts) {
			return len(f.ByCause[i].Hosts) > len(f.ByCause[j].Hosts)
		}
		return f.ByCause[i].ID < f.ByCause[j].ID
	})
	if len(f.Hosts) == 0 {
		f.ExitCode = 2
	}
	return f
}

func rank(status string) int {
	switch status {
	case HostOK:
		return 0
	case HostProblem:
		return 1
	case HostIncomplete:
		return 2
	}
	return 3
}

func exitOf(status string) int { return min(rank(status), 2) }

// FleetJSON renders the table as indented JSON.
func FleetJSON(f Fleet) ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// maxTargets is how many targets of one cause a host's row lists in text
// and Markdown; JSON has them all.
const maxTargets = 3

// FleetText renders the table for a terminal: one line per host and
// cause target, the reason for each host that could not be checked, and
// which hosts share each cause.
func FleetText(f Fleet) []byte {
	var b bytes.Buffer
	b.WriteString(fleetHeadline(f) + "\n\n")
	rows := [][]string{{"HOST", "CHECKED", "VERDICT", "CAUSE", "TARGET"}}
	for _, h := range f.Hosts {
		row := []string{h.Name, checkedAt(h), verdictWord(h.Status)}
		groups := groupCauses(h.Causes)
		switch {
		case h.Status == HostNotChecked:
			rows = append(rows, append(row, h.Source+": "+h.Summary, ""))
			continue
		case h.Status == HostIncomplete && len(groups) == 0:
			rows = append(rows, append(row, h.Summary, ""))
			continue
		}
		if len(groups) == 0 {
			rows = append(rows, append(row, "", ""))
			continue
		}
		for gi, g := range groups {
			for ti, t := range g.targets {
				if ti == maxTargets {
					rows = append(rows, []string{"", "", "", "", fmt.Sprintf("and %d more", len(g.targets)-maxTargets)})
					break
				}
				id := ""
				if ti == 0 {
					id = g.id
				}
				if gi == 0 && ti == 0 {
					rows = append(rows, append(row, id, orDash(t)))
				} else {
					rows = append(rows, []string{"", "", "", id, orDash(t)})
				}
			}
		}
	}
	widths := make([]int, 4)
	for _, r := range rows {
		for i := range widths {
			// A not-checked reason runs across the last two columns.
			if i == 3 && r[4] == "" {
				continue
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, cell := range r {
			line.WriteString(cell)
			if i < len(widths) {
				line.WriteString(strings.Repeat(" ", max(widths[i]-utf8.RuneCountInString(cell), 0)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	if len(f.ByCause) > 0 {
		b.WriteString("\nBy cause:\n")
		w := 0
		for _, c := range f.ByCause {
			w = max(w, len(c.ID))
		}
		for _, c := range f.ByCause {
			fmt.Fprintf(&b, "  %-*s  %s: %s\n", w, c.ID, plural(len(c.Hosts), "host"), capList(c.Hosts, 8))
		}
	}
	return b.Bytes()
}

// FleetMarkdown renders the table for a ticket or a wiki page.
func FleetMarkdown(f Fleet) []byte {
	var b bytes.Buffer
	b.WriteString("# ngxdoctor: fleet report\n\n" + fleetHeadline(f) + "\n\n")
	b.WriteString("| host | system | checked | verdict | causes |\n|---|---|---|---|---|\n")
	for _, h := range f.Hosts {
		system := strings.TrimSpace(h.OS + " " + h.Kernel)
		var causes []string
		switch {
		case h.Status == HostNotChecked:
			causes = append(causes, mdCell(h.Source+": "+h.Summary))
		case h.Status == HostIncomplete && len(h.Causes) == 0:
			causes = append(causes, mdCell(h.Summary))
		}
		for _, g := range groupCauses(h.Causes) {
			ts := make([]string, 0, len(g.targets))
			for _, t := range g.targets {
				ts = append(ts, orDash(t))
			}
			causes = append(causes, "`"+mdCode(g.id)+"` "+mdCell(capList(ts, maxTargets)))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(h.Name), mdCell(orDash(system)), mdCell(checkedAt(h)),
			verdictWord(h.Status), strings.Join(causes, "<br>"))
	}
	if len(f.ByCause) > 0 {
		b.WriteString("\n## By cause\n\n")
		for _, c := range f.ByCause {
			fmt.Fprintf(&b, "- `%s`: %s: %s\n", mdCode(c.ID), plural(len(c.Hosts), "host"), mdCell(capList(c.Hosts, 20)))
		}
	}
	return b.Bytes()
}

func fleetHeadline(f Fleet) string {
	n := map[string]int{}
	for _, h := range f.Hosts {
		n[h.Status]++
	}
	parts := []string{plural(len(f.Hosts), "host"), fmt.Sprintf("%d ok", n[HostOK]), fmt.Sprintf("%d with causes", n[HostProblem])}
	if n[HostIncomplete] > 0 {
		parts = append(parts, fmt.Sprintf("%d incomplete", n[HostIncomplete]))
	}
	parts = append(parts, fmt.Sprintf("%d could not be checked", n[HostNotChecked]))
	return strings.Join(parts, " · ")
}

type causeGroup struct {
	id      string
	targets []string
}

// groupCauses keeps the report's order of cause ids (most likely first).
func groupCauses(cs []FleetCause) []causeGroup {
	var out []causeGroup
	at := map[string]int{}
	for _, c := range cs {
		i, ok := at[c.ID]
		if !ok {
			i = len(out)
			at[c.ID] = i
			out = append(out, causeGroup{id: c.ID})
		}
		out[i].targets = append(out[i].targets, c.Target)
	}
	return out
}

func verdictWord(status string) string {
	if status == HostNotChecked {
		return "not checked"
	}
	return status
}

func checkedAt(h FleetHost) string {
	if h.GeneratedAt == nil {
		return "-"
	}
	return h.GeneratedAt.Format("2006-01-02 15:04:05Z")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func mdCode(s string) string { return strings.ReplaceAll(s, "`", "'") }

// clean keeps text from a report printable on one line: a report is input,
// and a terminal escape in a host name must not reach the screen.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r) || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
}

// firstLine is the start of a text that is not a report, on one line: a
// check's error message (fang frames it in blank lines) or whatever it is.
func firstLine(b []byte) string {
	if len(b) > 1024 {
		b = b[:1024]
	}
	return clip(strings.Join(strings.Fields(clean(string(b))), " "), 160)
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
