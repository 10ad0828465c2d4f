package labtest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// MachineState is the machine's own ngxdoctor state directory: a test run,
// even as root, must leave it exactly as it found it.
const MachineState = "/var/lib/ngxdoctor"

// Main runs a package's tests with the journal in a temp directory
// (NGXDOCTOR_STATE_DIR, which every process the tests start inherits) and
// fails the run when /var/lib/ngxdoctor differs afterwards. Use it as
// func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }.
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ngxdoctor-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv("NGXDOCTOR_STATE_DIR", dir)
	before := Listing(MachineState)
	code := m.Run()
	if after := Listing(MachineState); after != before {
		fmt.Fprintf(os.Stderr, "FAIL: the tests changed %s\nbefore:\n%s\nafter:\n%s\n", MachineState, before, after)
		return 1
	}
	return code
}

// Listing describes every file under dir (path, type, mode, size, time),
// "" when dir does not exist.
func Listing(dir string) string {
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lines = append(lines, p+" "+err.Error())
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		lines = append(lines, fmt.Sprintf("%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
