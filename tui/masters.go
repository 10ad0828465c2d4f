package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
)

// master is one running nginx master the host has.
type master struct {
	pid    int32
	config string
}

// masters lists the nginx masters of the last diagnosis.
func (m *Model) masters() []master {
	if m.outcome == nil || m.outcome.Snapshot == nil {
		return nil
	}
	var out []master
	for _, x := range m.outcome.Snapshot.Install.Masters {
		out = append(out, master{pid: x.PID, config: x.Config})
	}
	return out
}

// switchMaster runs the checks again against the next master's config.
func (m *Model) switchMaster() tea.Cmd {
	ms := m.masters()
	if len(ms) < 2 {
		m.setStatus("only one nginx master runs here", false)
		return nil
	}
	cur := 0
	if m.outcome != nil {
		for i, x := range ms {
			if x.pid == m.outcome.Snapshot.Install.MasterPID {
				cur = i
			}
		}
	}
	next := ms[(cur+1)%len(ms)]
	// The pid picks the master; its own config is then the one diagnosed.
	m.cfg.Options.MasterPID, m.cfg.Options.Config = next.pid, next.config
	m.setStatus(fmt.Sprintf("switched to the nginx master %d (%s): running the checks", next.pid, next.config), false)
	return m.rerun()
}
