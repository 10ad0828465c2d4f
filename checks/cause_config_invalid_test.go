package checks

import "testing"

func TestConfigInvalidRule(t *testing.T) {
	failed := ConfigTest{Ran: true, Output: "nginx: [emerg] unknown directive \"proxy_pas\" in /etc/nginx/sites-enabled/app:12\nnginx: configuration file /etc/nginx/nginx.conf test failed"}
	testRule(t, CauseConfigInvalid, []ruleCase{
		{"nginx -t fails", tcp3000, func(s *Snapshot) { s.ConfigTest = failed }, true, true, 0},
		{"nginx -t passes", tcp3000, func(s *Snapshot) {}, false, false, 0},
		{"nginx -t could not open its files without root", tcp3000, func(s *Snapshot) {
			s.ConfigTest = failed
			s.ConfigTest.Inconclusive = "not root"
		}, false, false, 0},
	})
}
