package checks

import (
	"fmt"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

// no-live-upstreams: every server of a group is marked failed; it follows
// from its servers' cause and ranks after it.
var noLiveUpstreamsRule = Rule{
	ID:   CauseNoLiveUpstreams,
	Step: 7,
	Unattached: func(s *Snapshot, e logs.Entry) (Cause, bool) {
		if e.Class != logs.NoLiveUpstreams || (e.Target != "" && !s.isGroup(e.Target)) {
			return Cause{}, false
		}
		return Cause{ID: CauseNoLiveUpstreams, Target: "upstream " + e.Target, Confidence: Medium, Logged: true,
			Summary: fmt.Sprintf("Every server of upstream %s is marked failed, so nginx does not even try them: the cause is what failed them.", e.Target)}, true
	},
	Relate: func(s *Snapshot, c *Cause, all []*Cause) {
		group := strings.TrimPrefix(c.Target, "upstream ")
		for _, other := range all {
			if other.ID != CauseNoLiveUpstreams && targetInGroup(s.Targets, other.Target, group) {
				c.FollowsFrom = other.ID
				c.Summary += " Its servers: " + string(other.ID) + "."
				return
			}
		}
	},
}

// isGroup says whether name is an upstream group of a target.
func (s *Snapshot) isGroup(name string) bool {
	for _, t := range s.Targets {
		if t.Upstream != "" && t.Upstream == name {
			return true
		}
	}
	return false
}
