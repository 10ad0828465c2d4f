package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ngxdoctor/ngxdoctor"
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/report"
	"github.com/ngxdoctor/ngxdoctor/tui"
)

func newCheck() *cobra.Command {
	var f flags
	c := &cobra.Command{
		Use:   "check",
		Short: "Diagnose without the wizard: a report on stdout, exit 1 when a cause is found",
		Long: "check runs the same evidence and steps as the wizard and prints the report.\n\n" +
			"Exit codes: 0 no cause found (advice and warnings alone keep 0), 1 at least one cause found,\n" +
			"2 could not diagnose (no nginx or config found, bad flags).",
		Example: "  sudo ngxdoctor check\n  sudo ngxdoctor check --format json | jq .verdict\n  ngxdoctor check -c ./nginx.conf --since 2h --format markdown > incident.md",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch f.format {
			case "text", "json", "markdown", "prom":
			default:
				return fmt.Errorf("--format %q: want text, json or markdown (or prom, for node_exporter)", f.format)
			}
			return runCheck(cmd.Context(), &f, f.format)
		},
	}
	f.register(c, false)
	c.Flags().StringVar(&f.format, "format", "text", "report format: text, json or markdown; prom writes metrics for node_exporter's textfile collector")
	return c
}

// diagnose runs the checks on the live host and plans fixes unless read-only.
func diagnose(ctx context.Context, f *flags, sys host.System) (report.Input, error) {
	opts, err := f.options()
	if err != nil {
		return report.Input{}, err
	}
	o, err := checks.Run(ctx, sys, opts, nil)
	if err != nil {
		if errors.Is(err, checks.ErrNoNginx) {
			hint := "looked for a running nginx master, `nginx` on PATH and /etc/nginx/nginx.conf; pass --config PATH (and --nginx PATH), or try `ngxdoctor demo`"
			if f.config != "" || f.nginx != "" {
				hint = "check the --config and --nginx paths, or try `ngxdoctor demo`"
			}
			return report.Input{}, fmt.Errorf("%w\n%s", err, hint)
		}
		return report.Input{}, err
	}
	// Read-only still plans: the preview is what a change request needs;
	// only applying is off.
	in := report.Input{Outcome: o, ReadOnly: f.readOnly, Fixes: fixes.Plan(o), Advice: fixes.Advice(o)}
	return in, nil
}

func runCheck(ctx context.Context, f *flags, format string) error {
	sys, err := f.system()
	if err != nil {
		return err
	}
	in, err := diagnose(ctx, f, sys)
	if err != nil {
		return err
	}
	var out []byte
	switch format {
	case "json":
		out, err = report.JSON(in)
		if err != nil {
			return err
		}
	case "markdown":
		out = report.Markdown(in)
	case "prom":
		out = []byte(fixes.Prom(in.Outcome))
	default:
		out = report.Text(in, f.color(os.Stdout))
	}
	if _, err := os.Stdout.Write(out); err != nil {
		return err
	}
	if len(in.Outcome.Causes) > 0 {
		return &exitError{code: 1, quiet: true}
	}
	return nil
}

func newFix() *cobra.Command {
	var f flags
	var yes, dry bool
	c := &cobra.Command{
		Use:   "fix ID",
		Short: "Apply one fix named in a report: previewed, confirmed, verified, rolled back on failure",
		Long: "fix diagnoses afresh with the same flags, finds the fix ID in the new plan and shows exactly\n" +
			"what it will do (commands as argv, diffs, how to undo). It changes nothing without --yes or\n" +
			"a 'y' at the prompt. After applying it verifies, and rolls back when the fix did not help.",
		Example: "  sudo ngxdoctor fix socket-permission:unix:/run/php/php8.2-fpm.sock:chmod --dry-run\n  sudo ngxdoctor fix header-too-big:127.0.0.1:3000:buffers --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.readOnly {
				return fixes.ErrReadOnly
			}
			if f.replay != "" {
				// A plan from a recording would change this host for another's evidence.
				return errors.New("--replay: a recording cannot be fixed; run fix on the host it was recorded on")
			}
			in, err := diagnose(cmd.Context(), &f, host.Live())
			if err != nil {
				return err
			}
			fx, ok := findFix(in, args[0])
			if !ok {
				return fmt.Errorf("no fix %q in the current diagnosis; the fixes offered now are:\n%s", args[0], listFixes(in))
			}
			fmt.Print(preview(fx))
			if dry {
				return nil
			}
			if !yes {
				if !isTerminal(os.Stdin) {
					return errors.New("not applied: pass --yes to apply without a terminal")
				}
				if !confirm("Apply this fix? [y/N] ") {
					fmt.Println("Not applied.")
					return nil
				}
			}
			a, err := fixes.Apply(cmd.Context(), in.Outcome, fx, fixes.Options{Progress: func(s string) { fmt.Println("  " + s) }})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			switch {
			case a.RolledBack:
				fmt.Println("The fix did not help and was rolled back.")
				return &exitError{code: 1, quiet: true}
			case a.Verified:
				fmt.Printf("Applied and verified. Undo with: ngxdoctor undo %s\n", a.JournalID)
			default:
				fmt.Printf("Applied; not verified. Undo with: ngxdoctor undo %s\n", a.JournalID)
			}
			return nil
		},
	}
	f.register(c, false)
	c.Flags().BoolVar(&yes, "yes", false, "apply without asking")
	c.Flags().BoolVar(&dry, "dry-run", false, "show what would happen and change nothing")
	return c
}

func findFix(in report.Input, id string) (fixes.Fix, bool) {
	for _, fs := range append(in.Fixes, in.Advice) {
		for _, f := range fs {
			if f.ID == id {
				return f, true
			}
		}
	}
	return fixes.Fix{}, false
}

func listFixes(in report.Input) string {
	var b strings.Builder
	for _, fs := range append(in.Fixes, in.Advice) {
		for _, f := range fs {
			fmt.Fprintf(&b, "  %s  (%s)\n", f.ID, f.Title)
		}
	}
	if b.Len() == 0 {
		return "  none"
	}
	// The error handler ends the message with a full stop of its own.
	return strings.TrimSuffix(b.String(), "\n")
}

// preview shows exactly what a fix will do.
func preview(f fixes.Fix) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Fix %s\n  %s\n", f.ID, f.Title)
	if len(f.Commands) > 0 {
		b.WriteString("Commands (run as argv, no shell):\n")
		for _, c := range f.Commands {
			fmt.Fprintf(&b, "  %s\n", report.Argv(c))
		}
	}
	if f.Diff != "" {
		b.WriteString("Changes:\n" + f.Diff)
		if !strings.HasSuffix(f.Diff, "\n") {
			b.WriteString("\n")
		}
	}
	if f.Transient {
		fmt.Fprintf(&b, "Transient: the backend resets this when it restarts; the durable fix is %s.\n", f.Durable)
	}
	if f.Warning != "" {
		fmt.Fprintf(&b, "Warning: %s\n", f.Warning)
	}
	if f.Undo != "" {
		fmt.Fprintf(&b, "Undo: %s\n", f.Undo)
	}
	return b.String()
}

func confirm(prompt string) bool {
	fmt.Print(prompt)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

func newUndo() *cobra.Command {
	return &cobra.Command{
		Use:     "undo [ID]",
		Short:   "Revert the last applied fix, or the one named (works after ngxdoctor has exited)",
		Example: "  sudo ngxdoctor undo\n  sudo ngxdoctor undo 20261124-051502-socket-permission",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			a, err := fixes.Undo(cmd.Context(), id)
			if err != nil {
				return err
			}
			fmt.Printf("Undone: %s (%s)\n", a.Fix.Title, a.JournalID)
			return nil
		},
	}
}

func newDemo() *cobra.Command {
	var learn, noColor bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "The wizard on a built-in recorded incident; changes nothing on this machine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), &flags{learn: learn, noColor: noColor})
		},
	}
	c.Flags().BoolVar(&learn, "learn", false, "start in the learn view")
	c.Flags().BoolVar(&noColor, "no-color", false, "plain output")
	return c
}

func demoSystem() (host.System, checks.Options, error) {
	rec, err := host.LoadRecording(ngxdoctor.DemoRecording)
	if err != nil {
		return nil, checks.Options{}, fmt.Errorf("the built-in demo is damaged: %w", err)
	}
	return host.Replay(rec), checks.Options{Since: checks.DefaultWindow, Timeout: checks.DefaultTimeout}, nil
}

func runDemo(ctx context.Context, f *flags) error {
	sys, opts, err := demoSystem()
	if err != nil {
		return err
	}
	if !isTerminal(os.Stdout) || dumbTerminal() {
		o, err := checks.Run(ctx, sys, opts, nil)
		if err != nil {
			return err
		}
		in := report.Input{Outcome: o, Fixes: fixes.Plan(o), Session: &report.Session{Demo: true}}
		_, err = os.Stdout.Write(report.Text(in, false))
		return err
	}
	rec, err := host.LoadRecording(ngxdoctor.DemoRecording)
	if err != nil {
		return err
	}
	after, apply := tui.DemoPlayer(rec)
	return tui.Run(ctx, tui.Config{Sys: sys, Options: opts, Steps: checks.Steps, Demo: true, DemoAfter: after, Apply: apply,
		Version: "ngxdoctor " + version, Learn: f.learn, NoColor: f.noColor || !f.color(os.Stdout)})
}

// runWizard is the bare `ngxdoctor`: the TUI on a terminal, the text
// report otherwise; on a machine without nginx it offers the demo.
func runWizard(cmd *cobra.Command, f *flags) error {
	ctx := cmd.Context()
	opts, err := f.options()
	if err != nil {
		return err
	}
	if !isTerminal(os.Stdout) || dumbTerminal() {
		return runCheck(ctx, f, "text")
	}
	sys, err := f.system()
	if err != nil {
		return err
	}
	if f.config == "" {
		if _, err := checksDiscover(ctx, sys, f); err != nil {
			fmt.Println("No nginx was found on this machine (no running master, no nginx binary, no /etc/nginx/nginx.conf).")
			fmt.Println("Pass --config PATH to diagnose a config elsewhere.")
			if isTerminal(os.Stdin) && confirm("Run the built-in demo instead (a recorded incident; nothing is changed)? [y/N] ") {
				return runDemo(ctx, f)
			}
			return &exitError{code: 2, quiet: true}
		}
	}
	return tui.Run(ctx, tui.Config{Sys: sys, Options: opts, Steps: checks.Steps, ReadOnly: f.readOnly, Learn: f.learn,
		Version: "ngxdoctor " + version, NoColor: !f.color(os.Stdout)})
}

// dumbTerminal is TERM=dumb (an editor's shell, a serial console): no
// cursor movement, so the text report instead of the full screen.
func dumbTerminal() bool { return os.Getenv("TERM") == "dumb" }
