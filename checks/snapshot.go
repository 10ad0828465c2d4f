package checks

import (
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// Options are the CLI's flags that shape a diagnosis.
type Options struct {
	Config     string   // -c; empty: discover
	Nginx      string   // --nginx; empty: discover
	ErrorLogs  []string // --error-log; empty: from the config
	AccessLogs []string // --access-log; empty: from the config
	// Since is the log window; zero with All false means 15 minutes.
	Since   time.Duration
	All     bool          // --since all
	Timeout time.Duration // per probe; zero means 3s
	// NoReplay: make no request through nginx (--no-replay).
	NoReplay bool
	// Version is ngxdoctor's, for the User-Agent of its requests.
	Version string
	// NotBefore starts the window no earlier than this: after a fix, the
	// lines from before it are history, not evidence of the present.
	NotBefore time.Time
	// Again are requests through nginx that failed before a fix: they are
	// asked again whatever the window holds, so the run after a fix is
	// judged by the very requests that failed (the wizard's rerun).
	Again []Replay
	// MasterPID selects one of several running masters (the wizard's
	// switch); zero: discover. With Config, the master must run it.
	MasterPID int32
}

// Snapshot is the evidence collected once, then read by every check and by
// the diagnosis. A step reads a part (Need) once it is marked collected,
// while the rest is still gathered; nothing writes a part after that.
type Snapshot struct {
	Sys     host.System
	Options Options
	// Root: ngxdoctor runs as root (some facts need it).
	Root bool

	Install    nginx.Install
	Config     *nginx.Config
	ConfigErr  error
	Targets    []nginx.Target
	ConfigTest ConfigTest

	// Since is the window's start; log lines before it are not evidence.
	Since     time.Time
	ErrorLogs []logs.ErrorLog
	Access    []logs.AccessLog
	// LogErrors are logs that could not be read (path: reason).
	LogErrors []string
	// ourRequests are ngxdoctor's own earlier requests through nginx, by
	// ourKey: the error-log lines they caused are not the incident's.
	ourRequests map[string]bool
	// asks are probeAsks' answer, worked out once from the config (every
	// target's passes) before the probes start.
	asks map[string]probe.Ask

	// Replays are the requests made through nginx, after the logs were read.
	Replays []Replay

	// Probes by target address.
	Probes    map[string]probe.Result
	Listeners []host.Listener
	Processes []host.Process
	// Machine is who the host is; Resources its memory, swap and load.
	// The errors say why they are unknown (a recording made without them).
	Machine      host.Machine
	MachineErr   error
	Resources    host.Resources
	ResourcesErr error
	// Taken is the host's clock when collection began: the report's generated_at.
	Taken time.Time
	// WorkerUser is the nginx worker user resolved on this host.
	WorkerUser    host.User
	WorkerUserErr error

	SELinux  host.SELinux
	Firewall host.Firewall
	// Units by target address: the backend's systemd unit, when known.
	Units map[string]host.Unit
	// Sockets by path, for unix-socket targets.
	Sockets map[string]Socket

	// PHPFPM are the running php-fpm masters with their pools and the
	// warnings of their log in the window.
	PHPFPM []host.FPM
	// Moved are, for each target where nothing accepts, the listeners no
	// config references that answered the target's request (moved.go).
	Moved map[string][]Candidate
	// OwnFiles are, by path, what stops the workers at the files of
	// nginx's own that the log says it failed on (ownfiles.go).
	OwnFiles map[string]host.Block

	// Notes are problems met while collecting, shown in the report.
	Notes []string
	// Unfinished are collection phases that ran out of time: the outcome
	// is then not complete.
	Unfinished []string

	// tools says which programs of the commands by hand are installed.
	tools *toolCache
}

// ConfigTest is `nginx -t`'s answer.
type ConfigTest struct {
	Ran    bool   `json:"ran"`
	OK     bool   `json:"ok"`
	Output string `json:"output"`
	// Inconclusive says why a failure says nothing about the config
	// (without root, nginx -t cannot open its pid and log files).
	Inconclusive string `json:"inconclusive,omitempty"`
}

// Socket is what is known of a unix-socket target's path.
type Socket struct {
	Exists   bool          `json:"exists"`
	Info     host.FileInfo `json:"info"`
	IsSocket bool          `json:"is_socket"`
	// Owner and Group names of the socket file.
	Owner string `json:"owner,omitempty"`
	Group string `json:"group,omitempty"`
	// WorkerMay: the nginx worker user may connect; Reason says why not.
	WorkerMay  bool   `json:"worker_may"`
	Reason     string `json:"reason,omitempty"`
	BlockedDir string `json:"blocked_dir,omitempty"`
	Err        string `json:"error,omitempty"`
}
