package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

// no-resolver: a *_pass with variables resolves at request time and no
// resolver is set.
var noResolverRule = Rule{
	ID:        CauseNoResolver,
	Step:      2,
	LogProves: true,
	Unattached: func(s *Snapshot, e logs.Entry) (Cause, bool) {
		if e.Class != logs.NoResolver || !s.resolvedHere(e) {
			return Cause{}, false
		}
		c := Cause{ID: CauseNoResolver, Target: e.Target, Confidence: High, Logged: true,
			Summary: fmt.Sprintf("A *_pass with variables needs a resolver to look up %s at request time, and none is set.", e.Target)}
		s.dynamicPassFacts(&c)
		return c, true
	},
}
