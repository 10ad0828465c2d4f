package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// newRecord records what a diagnosis reads of this host, so that it can be
// replayed elsewhere (the demo, a bug report, a test). Hidden: a tool for
// the developers and for support, not for the incident.
func newRecord() *cobra.Command {
	var f flags
	var out string
	c := &cobra.Command{
		Use:    "record",
		Short:  "Record what a diagnosis reads of this host into a JSON file for replay",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			rec := host.Record(host.Live())
			if _, err := checks.Run(cmd.Context(), rec, opts, nil); err != nil {
				return err
			}
			b, err := rec.Recording().Marshal()
			if err != nil {
				return err
			}
			// A recording holds configs and log lines: readable by its owner only.
			if err := os.WriteFile(out, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "recorded %d bytes to %s\n", len(b), out)
			return nil
		},
	}
	f.register(c, false)
	c.Flags().StringVarP(&out, "out", "o", "recording.json", "file to write")
	return c
}

func checksDiscover(ctx context.Context, sys host.System, f *flags) (nginx.Install, error) {
	return nginx.Discover(ctx, sys, f.config, f.nginx)
}
