package checks

import (
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// ruleCase is one snapshot a rule's test diagnoses: snap(target), then edit.
type ruleCase struct {
	name   string
	target nginx.Target
	edit   func(s *Snapshot)
	// found: Diagnose reports the rule's cause; live: a probe confirms it;
	// occ: the error-log lines it explains.
	found bool
	live  bool
	occ   int
}

// testRule diagnoses each case and checks what it says of cause id.
func testRule(t *testing.T, id CauseID, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(tc.target)
			tc.edit(s)
			var got *Cause
			cs := Diagnose(s)
			for i := range cs {
				if cs[i].ID == id {
					got = &cs[i]
					break
				}
			}
			switch {
			case got == nil && tc.found:
				t.Fatalf("no %s; got %v", id, ids(cs))
			case got != nil && !tc.found:
				t.Fatalf("got %s (%s), want none", id, got.Summary)
			case got == nil:
				return
			}
			if got.Live != tc.live || got.Occurrences != tc.occ {
				t.Fatalf("%s: live %v, %d lines; want live %v, %d lines (%s)", id, got.Live, got.Occurrences, tc.live, tc.occ, got.Summary)
			}
			if got.Summary == "" || len(got.Evidence) == 0 {
				t.Fatalf("%s without summary or evidence: %+v", id, got)
			}
		})
	}
}

// lines is an error log of the window with these entries.
func lines(es ...logs.Entry) []logs.ErrorLog { return []logs.ErrorLog{{Entries: es}} }

func TestEveryRuleIsComplete(t *testing.T) {
	seen := map[CauseID]bool{}
	for _, r := range rules {
		if seen[r.ID] {
			t.Errorf("%s has two rules", r.ID)
		}
		seen[r.ID] = true
		if r.Step < 1 || r.Step > 10 {
			t.Errorf("%s: step %d", r.ID, r.Step)
		}
		if r.Nginx == nil && r.Live == nil && r.Logged == nil && r.Unattached == nil {
			t.Errorf("%s: no hook finds it", r.ID)
		}
		if r.Logged != nil && r.Seen == "" && logCreates(r) {
			t.Errorf("%s creates causes from log lines without a Seen phrase", r.ID)
		}
	}
	if RuleOf("made-up") != nil || StepOf("made-up") != 0 || ProbeCures("made-up") {
		t.Error("an unknown id has a rule")
	}
}

// logCreates says whether any line class makes r create its cause.
func logCreates(r *Rule) bool {
	for _, c := range logClasses {
		for _, tg := range []nginx.Target{tcp3000, fpm} {
			if r.Logged(logs.Entry{Class: c, Phase: "reading response header from upstream"}, tg) == Creates ||
				r.Logged(logs.Entry{Class: c, Phase: "connecting to upstream"}, tg) == Creates {
				return true
			}
		}
	}
	return false
}

// Exactly one rule creates the cause of a classified line about a static
// target, so a line is never counted twice nor lost between rules.
func TestOneRuleCreatesPerLine(t *testing.T) {
	// Lines read by Unattached rules, or no cause's evidence at all.
	unread := map[logs.Class]bool{logs.NoLiveUpstreams: true, logs.NoResolver: true,
		logs.TooManyFiles: true, logs.WorkerConns: true, logs.AddrNotAvail: true,
		logs.ServerDisabled: true, logs.FastCGIStderr: true, logs.ClientClosed: true, logs.Other: true}
	for _, c := range logClasses {
		for _, phase := range []string{"connecting to upstream", "reading response header from upstream"} {
			for _, tg := range []nginx.Target{tcp3000, fpm} {
				var creators []CauseID
				for _, r := range rules {
					if r.Logged != nil && r.Logged(logs.Entry{Class: c, Phase: phase}, tg) == Creates {
						creators = append(creators, r.ID)
					}
				}
				if len(creators) > 1 {
					t.Errorf("%s %s (%s): created by %v", c, phase, tg.Network, creators)
				}
				if len(creators) == 0 && !unread[c] {
					t.Errorf("%s %s (%s): no rule creates its cause", c, phase, tg.Network)
				}
			}
		}
	}
}

// logClasses are the classes of checks/logs.
var logClasses = []logs.Class{logs.Refused, logs.PermissionDenied, logs.NoSuchFile, logs.Again, logs.NoRoute, logs.NetUnreachable,
	logs.AddrNotAvail, logs.TooManyFiles, logs.WorkerConns, logs.Timeout, logs.Closed, logs.Reset, logs.BrokenPipe,
	logs.HeaderTooBig, logs.InvalidHeader, logs.TLS, logs.ResolveFailed, logs.ResolverError, logs.NoResolver,
	logs.NoLiveUpstreams, logs.ServerDisabled, logs.FastCGIStderr, logs.ClientClosed, logs.GRPC, logs.HostNotFound, logs.Other}
