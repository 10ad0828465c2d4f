package fixes

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// planReload offers a reload for config-not-loaded only: the running
// nginx does not run the file (its workers use addresses the file no longer
// has, or the last reload failed), so the fix is written but not in force.
// A config that fails nginx -t is never "fixed" by a reload (nginx would
// keep the old config and log an emerg).
func planReload(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseConfigNotLoaded || o == nil || o.Snapshot == nil {
		return nil
	}
	s := o.Snapshot
	if !s.Install.Running || s.Install.MasterPID <= 0 || s.Config == nil || !s.ConfigTest.OK {
		return nil
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "reload"),
			Title: "Reload nginx: the running config is not " + s.Install.Config,
			Undo:  "A reload changes no file; to go back, revert the config file and reload again",
		},
		reloadNginx: true,
	}}
}

// masterTarget is an nginx master verified to run the config at hand,
// held by a pidfd so that a pid reused after the check cannot receive the
// signal meant for it.
type masterTarget struct {
	pid int
	fd  int // -1 without pidfd (Linux before 5.3)
}

// verifiedMaster finds the master to signal for nx, verified just now
// from a fresh process table: an nginx master (not a worker), whose -c, or
// its binary's compiled default, is nx.Config. nx.MasterPID, when known,
// must still be that master: a pid that is gone or became anything else
// is refused, never swapped for another. With no pid known (nginx was not
// running when the fix was planned) it is the one master that runs the
// config now; nginx.ErrNoMaster when none does. Close the target after use.
func verifiedMaster(ctx context.Context, nx nginxRef) (masterTarget, error) {
	pid := int32(nx.MasterPID)
	if pid <= 0 {
		m, err := nginx.VerifyMaster(ctx, host.Live(), 0, nx.Config)
		if err != nil {
			return masterTarget{}, err
		}
		pid = m.PID
	}
	t := masterTarget{pid: int(pid), fd: -1}
	// The pidfd is taken before the check: if the check passes, the fd
	// names the process that passed it, whatever happens to the pid later.
	fd, err := unix.PidfdOpen(t.pid, 0)
	switch {
	case err == nil:
		t.fd = fd
	case errors.Is(err, unix.ESRCH):
		return masterTarget{}, fmt.Errorf("%w: pid %d is gone", nginx.ErrNotMaster, pid)
	case !errors.Is(err, unix.ENOSYS):
		return masterTarget{}, fmt.Errorf("%w: pid %d: %v", nginx.ErrNotMaster, pid, err)
	}
	if _, err := nginx.VerifyMaster(ctx, host.Live(), pid, nx.Config); err != nil {
		t.close()
		return masterTarget{}, err
	}
	return t, nil
}

func (t masterTarget) signal(sig syscall.Signal) error {
	var err error
	if t.fd >= 0 {
		err = unix.PidfdSendSignal(t.fd, sig, nil, 0)
	} else {
		err = syscall.Kill(t.pid, sig)
	}
	if err != nil {
		return fmt.Errorf("signal pid %d: %w", t.pid, err)
	}
	return nil
}

func (t masterTarget) close() {
	if t.fd >= 0 {
		unix.Close(t.fd)
	}
}
