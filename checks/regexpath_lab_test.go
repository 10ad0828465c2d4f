package checks_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// A PHP site whose only pass is in "location ~ \.php$", with no failing
// request in the window (the log was rotated, say): the check still asks
// nginx a path that location takes, /index.php, sees the real 502, and the
// cause names that request.
func TestRegexLocationAskedWithoutFailingRequests(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the lab runs nginx's workers as www-data and php-fpm's socket as root's")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := lab.Find("socket-permission")
	l, err := lab.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Nothing triggered: the error log has no failing request.
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx,
		ErrorLogs: []string{l.ErrorLog}, AccessLogs: []string{l.AccessLog}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var asked *checks.Replay
	for i, r := range o.Snapshot.Replays {
		t.Logf("asked %s (%s, location %q) → %s", r.Text(), r.From, r.Location, r.Answer())
		if r.Location == `~ \.php$` {
			asked = &o.Snapshot.Replays[i]
		}
	}
	if asked == nil || asked.Path != "/index.php" || asked.From != "location" || asked.Status != 502 {
		t.Fatalf("the php location was not asked /index.php with its 502: %+v", asked)
	}
	if len(o.Causes) == 0 || o.Causes[0].ID != checks.CauseSocketPermission {
		t.Fatalf("causes: %+v", o.Causes)
	}
	if got := strings.Join(o.Causes[0].Requests, "; "); !strings.Contains(got, "/index.php") {
		t.Errorf("the cause does not name the request it explains: %q", got)
	}
}
