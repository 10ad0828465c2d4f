// Command ngxdoctor finds why nginx answers 502 Bad Gateway: a wizard
// (TUI) on a terminal, a report otherwise. This file only wires flags to
// the checks, fixes, report and tui packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/charmbracelet/fang"
	"github.com/spf13/cobra"
)

// exitError carries an exit code; quiet ones print nothing (check's 1).
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	root := newRoot()
	// --version says what `version` says: fang's own line has no commit time.
	root.SetVersionTemplate("{{.Version}}")
	err := fang.Execute(context.Background(), root,
		fang.WithVersion(readBuildInfo().String()),
		fang.WithoutManpage(),
		fang.WithNotifySignal(os.Interrupt, syscall.SIGTERM),
		fang.WithErrorHandler(func(w io.Writer, st fang.Styles, err error) {
			var ee *exitError
			if errors.As(err, &ee) && ee.quiet {
				return
			}
			// fang title-cases the first word (--since became --Since) and
			// joins lines (a list of fix IDs became one line).
			st.ErrorText = st.ErrorText.UnsetTransform()
			fang.DefaultErrorHandler(w, st, err)
		}))
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2 // bad flags, no config: could not diagnose
}

func newRoot() *cobra.Command {
	var f flags
	root := &cobra.Command{
		Use:   "ngxdoctor",
		Short: "Find out why nginx answers 502 Bad Gateway, and fix it",
		Long: "ngxdoctor walks the ten steps an expert takes when nginx, as a reverse proxy, answers 502:\n" +
			"it reads the config and the recent logs, probes every backend, names the most likely cause\n" +
			"with its evidence, and offers fixes that are previewed, confirmed, verified and undoable.\n\n" +
			"On a terminal it runs the wizard; otherwise it prints the text report.",
		Example: "  sudo ngxdoctor\n  sudo ngxdoctor check --format json\n  ngxdoctor demo",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runWizard(cmd, &f) },
	}
	f.register(root, true)
	root.AddCommand(newCheck(), newFix(), newUndo(), newDemo(), newMerge(), newVersion(), newRecord(), newMan())
	return root
}
