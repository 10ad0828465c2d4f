// Package report renders an outcome and its fix plans as text, JSON
// (schema ngxdoctor/report/v1) or Markdown.
package report

import (
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// Schema is the JSON report's schema name.
const Schema = "ngxdoctor/report/v1"

// Input is what every format renders.
type Input struct {
	Outcome *checks.Outcome
	// Fixes per cause index (same order as Outcome.Causes); nil in read-only mode.
	Fixes [][]fixes.Fix
}

// Markdown renders the report for an incident ticket.
func Markdown(in Input) []byte { return nil }
