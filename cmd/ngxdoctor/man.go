package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The man page is generated from the command tree, so a flag or command
// added there appears here; what the tree cannot say (exit status, files,
// environment) is written below. fang's own generator is not used: it
// printed -c as "--c", listed hidden flags and had no EXIT STATUS.

// exitStatus is the contract of check, the wizard without a terminal, fix
// and merge (README: Exit codes).
var exitStatus = [][2]string{
	{"0", "No cause found: nginx and its backends answer (advice and warnings alone keep 0). " +
		"For merge: every host was checked and is ok."},
	{"1", "At least one cause of 502/503/504 was found (for merge: on at least one host), " +
		"or a fix did not help and was rolled back."},
	{"2", "Could not diagnose: no nginx or config found, bad flags or arguments, or the run " +
		"was interrupted before it was complete. For merge: a report is missing, unreadable or incomplete."},
}

// metavar names a flag's value in the synopsis of each option.
var metavar = map[string]string{
	"config": "PATH", "nginx": "PATH", "error-log": "PATH", "access-log": "PATH",
	"since": "DUR|all", "timeout": "DUR", "format": "FORMAT", "out": "FILE",
}

func newMan() *cobra.Command {
	return &cobra.Command{
		Use:    "man",
		Short:  "Print the man page (roff), generated from the commands and flags",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), manPage(cmd.Root(), readBuildInfo()))
			return err
		},
	}
}

func manPage(root *cobra.Command, b buildInfo) string {
	// Cobra adds help and completion at Execute; a page made before must
	// show them too.
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	root.InitDefaultCompletionCmd()

	var w strings.Builder
	date := ""
	// The commit's date: the same page for the same commit. man prints it
	// in the middle of the footer, where a long development version (which
	// holds the date already) would overprint it.
	if len(b.Time) >= 10 && len(b.Version) <= 24 {
		date = b.Time[:10]
	}
	fmt.Fprintf(&w, ".TH NGXDOCTOR 1 %s %s \"User Commands\"\n", quote(date), quote("ngxdoctor "+b.Version))
	fmt.Fprintf(&w, ".SH NAME\nngxdoctor \\- %s\n", esc(lowerFirst(root.Short)))

	w.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, c := range visible(root) {
		fmt.Fprintf(&w, "%s\n", synopsis(c))
	}
	w.WriteString(".fi\n")

	w.WriteString(".SH DESCRIPTION\n")
	paragraphs(&w, root.Long)

	w.WriteString(".SH OPTIONS\n")
	for _, f := range flagsOf(root) {
		option(&w, f)
	}

	w.WriteString(".SH COMMANDS\n")
	common := map[string]string{}
	for _, f := range flagsOf(root) {
		common[f.Name] = f.Usage
	}
	for _, c := range visible(root)[1:] {
		fmt.Fprintf(&w, ".SS %s\n", quote(strings.TrimPrefix(c.CommandPath(), "ngxdoctor ")))
		text := c.Long
		if text == "" {
			text = c.Short + "."
		}
		paragraphs(&w, text)
		var shared []string
		var own []*pflag.Flag
		for _, f := range flagsOf(c) {
			switch {
			case common[f.Name] == f.Usage:
				shared = append(shared, optionName(f))
			default:
				own = append(own, f)
			}
		}
		if len(shared) > 0 {
			fmt.Fprintf(&w, ".PP\nTakes %s as above.\n", esc(strings.Join(shared, ", ")))
		}
		for _, f := range own {
			option(&w, f)
		}
		if c.Example != "" {
			example(&w, c.Example)
		}
	}

	w.WriteString(".SH EXIT STATUS\n")
	for _, e := range exitStatus {
		fmt.Fprintf(&w, ".TP\n.B %s\n%s\n", e[0], esc(e[1]))
	}

	w.WriteString(".SH ENVIRONMENT\n")
	for _, e := range [][2]string{
		{"NO_COLOR", "When set, output is plain, as with --no-color."},
		{"TERM", "With TERM=dumb output has no colour."},
		{"XDG_STATE_HOME", "Where a user other than root keeps the journal of applied fixes (default ~/.local/state)."},
	} {
		fmt.Fprintf(&w, ".TP\n.B %s\n%s\n", e[0], esc(e[1]))
	}

	w.WriteString(".SH FILES\n")
	for _, e := range [][2]string{
		{"/var/lib/ngxdoctor/journal", "The journal of applied fixes, for undo (as root; other users keep theirs under $XDG_STATE_HOME/ngxdoctor)."},
		{"/usr/lib/systemd/system/ngxdoctor-check.timer", "Installed by the package, not enabled: runs ngxdoctor-check.service every minute " +
			"(enable with systemctl enable --now ngxdoctor-check.timer)."},
		{"/usr/lib/systemd/system/ngxdoctor-check.service", "Runs ngxdoctor check --format prom into /var/lib/node_exporter/textfile_collector/ngxdoctor.prom " +
			"for node_exporter's textfile collector."},
		{"/usr/share/bash-completion/completions/ngxdoctor", "Shell completion for bash, installed by the package; " +
			"zsh's is /usr/share/zsh/vendor-completions/_ngxdoctor, fish's /usr/share/fish/vendor_completions.d/ngxdoctor.fish."},
	} {
		fmt.Fprintf(&w, ".TP\n.I %s\n%s\n", e[0], esc(e[1]))
	}

	if root.Example != "" {
		w.WriteString(".SH EXAMPLES\n.nf\n")
		for _, l := range strings.Split(strings.TrimRight(root.Example, "\n"), "\n") {
			w.WriteString(esc(strings.TrimSpace(l)) + "\n")
		}
		w.WriteString(".fi\n")
	}
	w.WriteString(".SH SEE ALSO\n.BR nginx (8),\n.BR systemd.timer (5)\n")
	return w.String()
}

// visible is the root and the commands a user may type under it.
func visible(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			out = append(out, c)
		}
	}
	return out
}

// subcommands names the available subcommands of c (completion's shells).
func subcommands(c *cobra.Command) []string {
	var out []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			out = append(out, s.Name())
		}
	}
	return out
}

func synopsis(c *cobra.Command) string {
	use := strings.Fields(c.Use)
	s := `\fB` + esc(c.CommandPath()) + `\fR`
	for _, a := range use[1:] {
		s += ` \fI` + esc(a) + `\fR`
	}
	if subs := subcommands(c); len(subs) > 0 && c.HasParent() {
		s += ` \fB` + esc(strings.Join(subs, "|")) + `\fR`
	}
	if len(flagsOf(c)) > 0 {
		s += ` [\fIflags\fR]`
	}
	return s
}

// flagsOf lists the flags a user may type with c (not the hidden ones, not
// --help); for a command that only groups others (completion), theirs.
func flagsOf(c *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	seen := map[string]bool{}
	add := func(f *pflag.Flag) {
		if !f.Hidden && !seen[f.Name] && (f.Name != "help" || !c.HasParent()) {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	c.NonInheritedFlags().VisitAll(add)
	if c.HasParent() {
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() {
				s.NonInheritedFlags().VisitAll(add)
			}
		}
	}
	return out
}

func optionName(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + ", --" + f.Name
	}
	return "--" + f.Name
}

func option(w *strings.Builder, f *pflag.Flag) {
	head := ""
	if f.Shorthand != "" {
		head = `\fB\-` + esc(f.Shorthand) + `\fR, `
	}
	head += `\fB\-\-` + esc(f.Name) + `\fR`
	if f.Value.Type() != "bool" {
		mv := metavar[f.Name]
		if mv == "" {
			mv = strings.ToUpper(f.Value.Type())
		}
		head += ` \fI` + esc(mv) + `\fR`
	}
	usage := f.Usage
	if d := f.DefValue; d != "" && d != "false" && d != "[]" && d != "0" && !strings.Contains(usage, "default") {
		usage += " (default " + d + ")"
	}
	fmt.Fprintf(w, ".TP\n%s\n%s\n", head, esc(usage))
}

// paragraphs writes text whose blank lines separate paragraphs; single
// line breaks inside a paragraph are only where the source wrapped it.
func paragraphs(w *strings.Builder, text string) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			w.WriteString(".PP\n")
		}
		w.WriteString(esc(strings.Join(strings.Fields(p), " ")) + "\n")
	}
}

func example(w *strings.Builder, text string) {
	w.WriteString(".PP\nExamples:\n.PP\n.RS\n.nf\n")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		w.WriteString(esc(strings.TrimSpace(l)) + "\n")
	}
	w.WriteString(".fi\n.RE\n")
}

// esc makes text safe for roff: backslashes, minus signs (so options can
// be searched for and pasted), and a control character at a line start.
func esc(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func quote(s string) string { return `"` + strings.ReplaceAll(esc(s), `"`, `\(dq`) + `"` }

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
