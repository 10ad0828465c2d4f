package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A log named on the command line is found where the user typed it, not
// under nginx's prefix (/usr/share/nginx/x.log); a replay keeps the
// recording's names.
func TestLogFlagsAreFromTheWorkingDirectory(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	f := flags{errorLogs: []string{"error.log", "/var/log/nginx/error.log"}, accessLogs: []string{"logs/access.log"}, since: "15m", timeout: time.Second}
	o, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "error.log"); o.ErrorLogs[0] != want {
		t.Errorf("got %q, want %q", o.ErrorLogs[0], want)
	}
	if o.ErrorLogs[1] != "/var/log/nginx/error.log" {
		t.Errorf("an absolute path changed: %q", o.ErrorLogs[1])
	}
	if want := filepath.Join(wd, "logs/access.log"); o.AccessLogs[0] != want {
		t.Errorf("got %q, want %q", o.AccessLogs[0], want)
	}
	f.replay = "rec.json"
	if o, _ := f.options(); o.ErrorLogs[0] != "error.log" {
		t.Errorf("a replay's log name changed: %q", o.ErrorLogs[0])
	}
}
