package checks

import "sync"

// Need is a part of the evidence. A step names what it reads, and runs as
// soon as that is collected: the config step does not wait out the probe
// deadline of a black-holed backend.
type Need uint16

const (
	// NeedConfig: discovery, the parsed config, its targets, the log window.
	NeedConfig Need = 1 << iota
	// NeedConfigTest: nginx -t's answer.
	NeedConfigTest
	// NeedLogs: the window's error and access logs.
	NeedLogs
	// NeedReplay: the requests through nginx.
	NeedReplay
	// NeedHost: listeners, processes, users, firewall, SELinux, units, sockets.
	NeedHost
	// NeedProbes: every probe, with the failing request asked again.
	NeedProbes
	// NeedMoved: the listeners asked as a backend's new address.
	NeedMoved
	// NeedRest: the rest of Collect (nginx's own files, the notes).
	NeedRest

	needCount = iota
)

// NeedAll is all of Collect: a step that names no needs waits for it.
const NeedAll Need = 1<<needCount - 1

// milestones close one channel per part of the evidence once it is in
// the snapshot; what a part wrote is then only read, never written again
// (the channel's close orders the writes before the reads).
type milestones struct {
	ch   [needCount]chan struct{}
	once [needCount]sync.Once
}

func newMilestones() *milestones {
	m := &milestones{}
	for i := range m.ch {
		m.ch[i] = make(chan struct{})
	}
	return m
}

// done marks parts as collected; twice is harmless.
func (m *milestones) done(n Need) {
	if m == nil {
		return
	}
	for i := range m.ch {
		if n&(1<<i) != 0 {
			m.once[i].Do(func() { close(m.ch[i]) })
		}
	}
}

// wait returns once every part of n is collected. Every part is marked
// done however its collection ends (deadline, error, panic), so this
// never waits longer than Collect.
func (m *milestones) wait(n Need) {
	if m == nil {
		return
	}
	for i := range m.ch {
		if n&(1<<i) != 0 {
			<-m.ch[i]
		}
	}
}
