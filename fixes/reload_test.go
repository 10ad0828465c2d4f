package fixes

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestReloadSignalsOnlyTheMasterOfItsConfig runs two real nginx: a reload
// for one config HUPs its own master (new workers), never the other's; a
// reload for a config whose nginx is stopped signals nothing, whether the
// pid it carries is the other master's or none.
func TestReloadSignalsOnlyTheMasterOfItsConfig(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the labs run nginx workers as www-data: root is needed")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc, _ := lab.Find("healthy")
	mine, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	other, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	e := testEngine(t)
	// A bound, not a measure: a loaded machine may take a while to fork.
	e.ReloadWait = 30 * time.Second
	var log []string
	logf := func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }

	otherWorkers := other.Workers()
	old := mine.Workers()
	nx := nginxRef{Binary: mine.Nginx, Config: mine.Config, Prefix: mine.Dir + "/", MasterPID: mine.NginxPID()}
	if err := e.reloadNginx(ctx, nx, old, logf); err != nil {
		t.Fatalf("reload of its own master: %v\n%s", err, strings.Join(log, "\n"))
	}
	if now := mine.Workers(); maps.Equal(old, now) {
		t.Fatalf("the reload did not replace the workers %v\n%s", old, strings.Join(log, "\n"))
	}

	if err := mine.StopNginx(); err != nil {
		t.Fatal(err)
	}
	// The journal's pid now names the other master (as after a pid reuse).
	stale := nginxRef{Binary: mine.Nginx, Config: mine.Config, Prefix: mine.Dir + "/", MasterPID: other.NginxPID()}
	err = e.reloadNginx(ctx, stale, nil, logf)
	if err == nil || !strings.Contains(err.Error(), "nothing was signalled") || !strings.Contains(err.Error(), "runs "+other.Config+", not "+mine.Config) {
		t.Fatalf("reload with the other master's pid: got %v, want it refused naming both configs", err)
	}
	// No pid known: the config's nginx is not running, so nothing to reload.
	none := stale
	none.MasterPID = 0
	if err := e.reloadNginx(ctx, none, nil, logf); err != nil || !strings.Contains(strings.Join(log, "\n"), "nginx is not running for "+mine.Config) {
		t.Fatalf("reload without a master: got %v\n%s", err, strings.Join(log, "\n"))
	}
	if now := other.Workers(); !maps.Equal(otherWorkers, now) {
		t.Fatalf("the other nginx was signalled: workers %v became %v", otherWorkers, now)
	}
}
