package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

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
			"2 could not diagnose (no nginx or config found, bad flags) or did not complete (interrupted by\n" +
			"SIGTERM or Ctrl-C, or a phase ran out of time): never read as healthy.",
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
	started := time.Now()
	in, err := diagnose(ctx, f, sys)
	if errors.Is(err, checks.ErrInterrupted) {
		if format == "prom" {
			// The monitoring timer must see that this run proves nothing.
			os.Stdout.WriteString(fixes.Prom(&checks.Outcome{Started: started, Duration: time.Since(started), Interrupted: true}))
		}
		return &exitError{code: 2, err: fmt.Errorf("%w: no report, and no verdict", err)}
	}
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
	if o := in.Outcome; !o.Complete {
		return &exitError{code: 2, err: fmt.Errorf("the check did not complete (%s): the report above is partial and is not a verdict", strings.Join(o.Unfinished, "; "))}
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
			fx, bound, err := fixes.Find(in.Outcome, args[0])
			if errors.Is(err, fixes.ErrNotBound) {
				// Printed whole: a wrapped path cannot be pasted.
				fmt.Fprintln(os.Stderr, "Refused: "+err.Error())
				return &exitError{code: 1, quiet: true}
			}
			if err != nil {
				return err
			}
			fmt.Print(preview(fx))
			if !bound {
				fmt.Printf("Note: %s has no digest, so it is not bound to a report you read: this is the plan made now.\n", args[0])
			}
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
			var je *fixes.JournalError
			if errors.As(err, &je) {
				// The change is live: say so plainly, with every undo step.
				state := "not verified"
				if a.Verified {
					state = "verified"
				}
				fmt.Printf("Applied (%s), but the journal could not record it: %v\n", state, je.Err)
				fmt.Printf("ngxdoctor undo %s may not undo all of it. To undo by hand, run in order:\n", je.ID)
				for _, s := range je.Steps {
					fmt.Println("  " + s)
				}
				return &exitError{code: 1, quiet: true}
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if len(a.Requests) > 0 {
				fmt.Println("The requests that failed before the fix, asked again:")
				for _, q := range a.Requests {
					fmt.Printf("  %s: %s before, %s now\n", q.Text, q.Before, q.After)
				}
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
	var list bool
	c := &cobra.Command{
		Use:   "undo [ID]",
		Short: "Revert your last applied fix, or the one named (works after ngxdoctor has exited)",
		Long: "undo reverts a fix from the journal alone: the files come back byte for byte, modes and\n" +
			"firewall rules (at their position) are put back, and nginx is reloaded. An undo that must refuse\n" +
			"(a file changed by hand since the fix) changes nothing and reloads nothing.\n\n" +
			"Without an ID it takes your last fix not yet undone (the sudo user's, under sudo) and says\n" +
			"which. The journal is in " + journalWhere() + ".",
		Example: "  sudo ngxdoctor undo --list\n  sudo ngxdoctor undo\n  sudo ngxdoctor undo 20261124T051502.123456789Z",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := fixes.Default()
			if list {
				if len(args) > 0 {
					return errors.New("--list takes no ID")
				}
				return listJournal(e)
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			} else {
				en, err := e.Last()
				if err != nil {
					return err
				}
				id = en.ID
				fmt.Printf("Undoing your last fix, %s: %s (%s, applied %s)\n", en.ID, en.Fix.Title, en.Fix.ID, en.When.Local().Format("2006-01-02 15:04:05"))
			}
			a, err := e.Undo(cmd.Context(), id)
			for _, l := range a.Log {
				fmt.Println("  " + l)
			}
			if err != nil {
				return err
			}
			fmt.Printf("Undone: %s (%s)\n", a.Fix.Title, a.JournalID)
			return nil
		},
	}
	c.Flags().BoolVar(&list, "list", false, "list the journal: every applied fix, by whom, and whether it is undone")
	return c
}

// journalWhere names the journal directory for help texts.
func journalWhere() string {
	if d := fixes.StateDir(); d != "" {
		return d
	}
	return "nowhere yet (no home directory: set " + fixes.StateDirEnv + ")"
}

// listJournal prints the journal, newest last.
func listJournal(e *fixes.Engine) error {
	all, err := e.Journal()
	if err != nil {
		return err
	}
	fmt.Printf("Journal: %s\n", e.JournalDir)
	if len(all) == 0 {
		fmt.Println("  no applied fix")
	}
	for _, en := range all {
		state := "applied, not verified"
		switch {
		case en.Undone:
			state = "undone " + en.UndoneAt.Local().Format("2006-01-02 15:04:05")
		case en.Applied.RolledBack:
			state = "rolled back"
		case en.Applied.Verified:
			state = "applied, verified"
		}
		who := en.User
		if who == "" {
			who = "?"
		}
		fmt.Printf("  %s  %s  by %s  %s\n    %s\n    %s\n", en.ID, en.When.Local().Format("2006-01-02 15:04:05"), who, state, en.Fix.ID, en.Fix.Title)
	}
	for _, p := range e.JournalProblems() {
		fmt.Printf("  refused: %s\n", p)
	}
	return nil
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
