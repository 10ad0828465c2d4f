// Package ngxdoctor holds the files built into the binary: the recorded
// incident the demo replays.
package ngxdoctor

import _ "embed"

// DemoRecording is a recorded host (see checks/host.Recording) in the
// middle of an incident: php-fpm's socket closed to nginx's workers.
// It is made by `go test ./lab -run TestRecordDemo -record-demo`.
//
//go:embed testdata/demo/incident.json
var DemoRecording []byte
