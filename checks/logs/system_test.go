package logs

import (
	"bytes"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// disk is the real host with the time zone pinned to UTC, the zone the
// tests write their timestamps in.
var disk = host.InZone(host.Live(), time.UTC)

// memSystem serves one file from memory, so fuzzing does not wait on a disk.
type memSystem struct {
	host.System
	data []byte
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func (s memSystem) Open(string) (host.File, error) { return memFile{bytes.NewReader(s.data)}, nil }
