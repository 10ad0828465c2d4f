package checks_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestStepsArriveBeforeTheProbes: a real nginx whose backend is
// black-holed by an iptables DROP rule on loopback (the lab removes it).
// Its probe hangs until the deadline, so the steps that read no probe
// (the config, the logs, the sockets, the request through nginx, the
// monitoring) must be reported before the probes finish, the steps that
// read probes after, and the outcome only after every step. Only the
// order of the events is asserted, never a time.
func TestStepsArriveBeforeTheProbes(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the DROP rule needs CAP_NET_ADMIN and the lab runs workers as www-data: root is needed")
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	sc, _ := lab.Find("firewall-blocked-drop")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Trigger(ctx, 2)

	var mu sync.Mutex
	var events []string
	progress := func(ev checks.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ev.Phase == "step":
			events = append(events, fmt.Sprintf("step %d", ev.Step.Number))
		case ev.Phase == "probe" && ev.Total > 0 && ev.Done == ev.Total:
			events = append(events, "all probed")
		case ev.Phase != "probe":
			events = append(events, ev.Phase)
		}
	}
	// A deadline far longer than everything but the black-holed probe.
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx, Timeout: 8 * time.Second}, progress)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]string(nil), events...)
	mu.Unlock()
	at := func(e string) int {
		for i, x := range got {
			if x == e {
				return i
			}
		}
		t.Fatalf("no %q event in %v", e, got)
		return -1
	}
	probed := at("probes")
	for _, n := range []int{2, 6, 8, 9, 10} {
		if i := at(fmt.Sprintf("step %d", n)); i > probed {
			t.Errorf("step %d came after the probes (it reads none): %s", n, strings.Join(got, ", "))
		}
	}
	for _, n := range []int{1, 3, 4, 5, 7} {
		if i := at(fmt.Sprintf("step %d", n)); i < probed {
			t.Errorf("step %d came before the probes it reads: %s", n, strings.Join(got, ", "))
		}
	}
	if at("config") > at("step 2") {
		t.Errorf("step 2 came before the config was read: %s", strings.Join(got, ", "))
	}
	// The verdict is the symptom's: the 504 through nginx is in it.
	if len(o.Causes) == 0 || o.Causes[0].ID != "firewall-blocked" {
		t.Errorf("top cause: got %v, want firewall-blocked", o.Causes)
	}
	if len(o.Steps) != 10 {
		t.Errorf("the outcome has %d steps, want 10", len(o.Steps))
	}
}
