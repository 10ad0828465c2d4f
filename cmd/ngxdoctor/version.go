package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is empty unless a release build sets it:
//
//	go build -ldflags "-X main.version=1.2.0" ./cmd/ngxdoctor
//
// Without it the module version from the build info is shown (a tag for
// `go install ...@v1.2.0`, a pseudo-version for a build in a checkout).
var version = ""

// commit and commitTime stand in for the build info's VCS stamp where the
// go command has none to give: it does not stamp builds made in a git
// worktree, and -buildvcs=false drops it. scripts/package.sh sets them.
var commit, commitTime = "", ""

// buildInfo is what `version` and `--version` say about this binary.
type buildInfo struct {
	Version  string // the release version, else the module version
	Module   string // module path and version, as the build info has them
	Revision string // VCS commit, empty when the build had no VCS
	Time     string // the commit's time (RFC 3339)
	Modified bool   // built from a work tree with uncommitted changes
	Go       string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown (no build info)"
		}
		b.Revision, b.Time = commit, commitTime
		return b
	}
	b.Module = info.Main.Path + " " + info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Revision == "" {
		b.Revision, b.Time = commit, commitTime
	}
	if b.Version == "" {
		// "(devel)" is what go run, go test and -buildvcs=false leave.
		b.Version = info.Main.Version
	}
	return b
}

// String is the whole answer: a first line a script can cut, then the
// provenance a bug report needs.
func (b buildInfo) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "ngxdoctor %s\n", b.Version)
	if b.Module != "" {
		fmt.Fprintf(&s, "module   %s\n", b.Module)
	}
	switch {
	case b.Revision == "":
		s.WriteString("commit   unknown (built without version control information)\n")
	default:
		mod := ""
		if b.Modified {
			mod = " (with uncommitted changes)"
		}
		fmt.Fprintf(&s, "commit   %s%s\n", b.Revision, mod)
		if b.Time != "" {
			fmt.Fprintf(&s, "time     %s\n", b.Time)
		}
	}
	fmt.Fprintf(&s, "go       %s\n", b.Go)
	return s.String()
}

// agentVersion names this build in the User-Agent of the requests that
// ngxdoctor replays through nginx: the release or module version, or ""
// (the checks say "dev") for a build without one.
func agentVersion() string {
	v := readBuildInfo().Version
	if strings.ContainsAny(v, " ()") {
		return ""
	}
	return v
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and when that commit was made",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprint(cmd.OutOrStdout(), readBuildInfo())
		},
	}
}
