package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ngxdoctor/ngxdoctor/report"
)

func newMerge() *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Merge the JSON reports of many hosts into one host × cause table",
		Long: "merge reads the reports that `check --format json` wrote on each host (files, or JSON lines\n" +
			"on stdin with -) and prints one table: per host its verdict and its causes with their targets,\n" +
			"and the hosts that could not be checked (a missing or unreadable report).\n\n" +
			"Exit codes: the worst of the hosts: 0 every host ok, 1 causes on at least one host,\n" +
			"2 a report missing, unreadable or incomplete.",
		Example: "  ngxdoctor merge reports/*.json\n" +
			"  ngxdoctor merge --format markdown reports/*.json > fleet.md\n" +
			"  for h in web1 web2; do ssh $h sudo ngxdoctor check --format json | jq -c .; done | ngxdoctor merge -",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "text", "markdown", "json":
			default:
				return fmt.Errorf("--format %q: want text, markdown or json", format)
			}
			var hosts []report.FleetHost
			stdin := false
			for _, a := range args {
				if a == "-" {
					if stdin {
						return fmt.Errorf("- given twice: stdin can be read once")
					}
					stdin = true
					hosts = append(hosts, report.ReadStream(cmd.InOrStdin(), "stdin")...)
					continue
				}
				hosts = append(hosts, report.ReadFile(a))
			}
			f := report.MergeHosts(hosts)
			var out []byte
			switch format {
			case "json":
				b, err := report.FleetJSON(f)
				if err != nil {
					return err
				}
				out = b
			case "markdown":
				out = report.FleetMarkdown(f)
			default:
				out = report.FleetText(f)
			}
			if _, err := os.Stdout.Write(out); err != nil {
				return err
			}
			if f.ExitCode != 0 {
				return &exitError{code: f.ExitCode, quiet: true}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "table format: text, markdown or json")
	return c
}
