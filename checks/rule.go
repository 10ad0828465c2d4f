package checks

import (
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// CauseID names a cause of the fixed vocabulary (the design's table, the
// README's list, the JSON report's causes[].id).
type CauseID string

// The vocabulary. Each id has one rule, in the file cause_<id>.go.
const (
	CauseNginxNotRunning   CauseID = "nginx-not-running"
	CauseConfigInvalid     CauseID = "config-invalid"
	CauseBackendDown       CauseID = "backend-down"
	CauseWrongAddress      CauseID = "wrong-address"
	CauseSocketMissing     CauseID = "socket-missing"
	CauseSocketPermission  CauseID = "socket-permission"
	CauseSELinuxDenied     CauseID = "selinux-denied"
	CauseFirewallBlocked   CauseID = "firewall-blocked"
	CauseBackendOverloaded CauseID = "backend-overloaded"
	CauseUpstreamTimeout   CauseID = "upstream-timeout"
	CauseUpstreamClosed    CauseID = "upstream-closed"
	CauseUpstreamReset     CauseID = "upstream-reset"
	CauseHeaderTooBig      CauseID = "header-too-big"
	CauseInvalidResponse   CauseID = "invalid-response"
	CauseTLSHandshake      CauseID = "tls-handshake"
	CauseDNSFailure        CauseID = "dns-failure"
	CauseNoResolver        CauseID = "no-resolver"
	CauseNoLiveUpstreams   CauseID = "no-live-upstreams"
	CauseNginxResources    CauseID = "nginx-resources"
	CauseConfigNotLoaded   CauseID = "config-not-loaded"
	CauseBackendError      CauseID = "backend-error"
	CauseNginxFileAccess   CauseID = "nginx-file-access"
)

// Facts are what a fix planner reads of a cause. Every field is optional;
// a rule fills those its fixes need.
type Facts struct {
	// Alternative is where the backend really listens (wrong-address):
	// "[::1]:3000", "unix:/run/x.sock".
	Alternative string
	// PassAt is file:line of the *_pass or upstream server line for the target.
	PassAt string
	// LocationAt is file:line of the enclosing location block.
	LocationAt string
	// Setting is the directive to raise (proxy_read_timeout,
	// fastcgi_buffer_size, ...); SettingAt its file:line where it is set,
	// empty when the default is inherited.
	Setting   string
	SettingAt string
	// Took is the measured response time (upstream-timeout); from the log
	// alone, the limit it exceeded.
	Took time.Duration
	// HeaderBytes is the measured response header size (header-too-big);
	// from the log alone, the buffer it did not fit.
	HeaderBytes int
	// Socket is the unix socket path; WorkerUser the nginx worker user;
	// BlockedDir a directory on the socket's path without search permission.
	Socket     string
	WorkerUser string
	BlockedDir string
	// Unit is the backend's systemd unit.
	Unit string
	// Port is the TCP port (firewall, SELinux).
	Port int
	// Speaks is the protocol the port really speaks ("http", "tls") when
	// no probe says so.
	Speaks string
	// PHPFPM is the php-fpm pool behind the target (backend-overloaded).
	PHPFPM *PoolFacts
	// Blocker is where nginx's workers are stopped on the way to a file
	// of nginx's own (nginx-file-access).
	Blocker *FileBlock
}

// fill sets every empty field of f from o: merging two findings of one
// cause keeps what the first knew.
func (f *Facts) fill(o Facts) {
	str := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	str(&f.Alternative, o.Alternative)
	str(&f.PassAt, o.PassAt)
	str(&f.LocationAt, o.LocationAt)
	str(&f.Setting, o.Setting)
	str(&f.SettingAt, o.SettingAt)
	str(&f.Socket, o.Socket)
	str(&f.WorkerUser, o.WorkerUser)
	str(&f.BlockedDir, o.BlockedDir)
	str(&f.Unit, o.Unit)
	str(&f.Speaks, o.Speaks)
	if f.Took == 0 {
		f.Took = o.Took
	}
	if f.HeaderBytes == 0 {
		f.HeaderBytes = o.HeaderBytes
	}
	if f.Port == 0 {
		f.Port = o.Port
	}
	if f.PHPFPM == nil {
		f.PHPFPM = o.PHPFPM
	}
	if f.Blocker == nil {
		f.Blocker = o.Blocker
	}
}

// Match says what an error-log line is to a rule.
type Match int

const (
	// NoMatch: the line does not show this cause.
	NoMatch Match = iota
	// Joins: the line is counted for this cause when it was already found
	// for the target (live), but does not create it.
	Joins
	// Creates: the line shows this cause; when no rule it Joins has found
	// the target's cause, this one is created from the log. Exactly one
	// rule Creates for a line class.
	Creates
)

// Rule is one cause of the vocabulary: how each kind of evidence shows it.
// Every hook is optional; the engine (diagnose.go) calls them, merges what
// they return into one cause per id and target, ranks, and judges the
// verdict.
//
// To add a cause:
//
//  1. add its CauseID above and a row to the README's cause list;
//  2. write cause_<id>.go with a `var <id>Rule = Rule{...}` filling the
//     hooks that apply, and register it in the rules list below (the order
//     there is the order causes of one target are found in);
//  3. write cause_<id>_test.go: a table of snapshots (snap(), entry() in
//     diagnose_test.go) and the cause Diagnose finds for each, including
//     one where the rule must stay silent;
//  4. a fix for it is one file in fixes/ keyed on the id; the TUI shows it
//     in rule.Step's detail.
//
// A failing request through nginx (Snapshot.Replays) is attributed by the
// engine: by the error-log lines nginx wrote for it (Logged, as for the
// window's lines, but live), else by a rule's Request hook, else to a cause
// already found for a target behind its location; what none explains, the
// verdict says.
type Rule struct {
	ID CauseID
	// Step is the step (1-10) whose detail explains and fixes the cause.
	Step int
	// ProbeCures: after a fix, a successful connect to the target proves
	// the cause gone (a failed connect this process would meet as well).
	ProbeCures bool
	// LogProves: error-log lines alone keep the rule's confidence; else a
	// cause seen only in the log is at most medium.
	LogProves bool

	// Applies says whether the cause can exist on this host at all (nil:
	// always): a rule that does not apply stays silent, so that nothing
	// blames what is not there (SELinux on a host without it).
	Applies func(s *Snapshot) bool

	// Nginx finds the cause in nginx itself (not running, nginx -t),
	// once per diagnosis.
	Nginx func(s *Snapshot) []Cause
	// Live finds the cause for one probed static target from what is true
	// now: the probe p, the listeners, the socket, the host's rules. Build
	// the cause with s.liveCause so it carries the probe and base facts.
	Live func(s *Snapshot, t nginx.Target, p probe.Result) []Cause
	// Logged says whether an error-log line of the window about static
	// target t shows this cause.
	Logged func(e logs.Entry, t nginx.Target) Match
	// Seen completes "The backend at ADDR ..., per the error log" for a
	// cause created from a log line: "refused connections".
	Seen string
	// LogFacts adds what a fix needs when only the log shows the cause.
	LogFacts func(s *Snapshot, t nginx.Target, c *Cause)
	// Unattached finds the cause from a window's log line that needs no
	// static target (an upstream group, a name resolved at request time,
	// nginx's own limits). The engine counts the line into the cause.
	Unattached func(s *Snapshot, e logs.Entry) (Cause, bool)
	// Request explains a failing request through nginx that no error-log
	// line of it attributes to a static target's cause (a backend's own
	// 5xx, a config nginx has not loaded).
	Request func(s *Snapshot, r Replay) (Cause, bool)
	// Relate runs after all evidence is in, to tie the cause to others
	// (FollowsFrom).
	Relate func(s *Snapshot, c *Cause, all []*Cause)
}

// rules is the vocabulary in the order causes of one target are found.
var rules = []*Rule{
	&nginxNotRunningRule,
	&configInvalidRule,
	&dnsFailureRule,
	&wrongAddressRule,
	&backendDownRule,
	&firewallBlockedRule,
	&backendOverloadedRule,
	&selinuxDeniedRule,
	&socketMissingRule,
	&socketPermissionRule,
	&tlsHandshakeRule,
	&upstreamClosedRule,
	&upstreamResetRule,
	&invalidResponseRule,
	&headerTooBigRule,
	&upstreamTimeoutRule,
	&noResolverRule,
	&noLiveUpstreamsRule,
	&nginxResourcesRule,
	&configNotLoadedRule,
	&backendErrorRule,
	&nginxFileAccessRule,
}

// applies is r.Applies, true when unset.
func (r *Rule) applies(s *Snapshot) bool { return r.Applies == nil || r.Applies(s) }

// RuleOf is the rule of a cause id, nil for an unknown id.
func RuleOf(id CauseID) *Rule {
	for _, r := range rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// StepOf is the step whose detail explains a cause, 0 for an unknown id.
func StepOf(id CauseID) int {
	if r := RuleOf(id); r != nil {
		return r.Step
	}
	return 0
}

// ProbeCures says whether a successful connect to the target proves the
// cause gone.
func ProbeCures(id CauseID) bool {
	r := RuleOf(id)
	return r != nil && r.ProbeCures
}
