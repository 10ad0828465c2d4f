package checks

// config-invalid: nginx -t fails, so a reload would fail and what runs is
// not the config on disk.
var configInvalidRule = Rule{
	ID:   CauseConfigInvalid,
	Step: 2,
	Nginx: func(s *Snapshot) []Cause {
		if !s.ConfigTest.Ran || s.ConfigTest.OK || s.ConfigTest.Inconclusive != "" {
			return nil
		}
		first := firstLine(s.ConfigTest.Output, "[emerg]")
		return []Cause{{ID: CauseConfigInvalid, Target: s.Install.Config, Live: true, Confidence: High,
			Summary:  "nginx -t fails, so a reload would fail and the config on disk is not what runs: " + first,
			Evidence: splitLines(s.ConfigTest.Output, 6)}}
	},
}
