// Command ngxdoctor-lab starts one broken setup on loopback (a real nginx,
// and php-fpm or iptables where the scenario needs them) for practice:
// diagnose it by hand or with ngxdoctor, then Ctrl-C removes everything.
//
//	sudo go run ./lab/cmd/ngxdoctor-lab            # list the scenarios
//	sudo go run ./lab/cmd/ngxdoctor-lab socket-permission
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Println("usage: ngxdoctor-lab SCENARIO\n\nscenarios:")
		for _, s := range lab.Scenarios() {
			root := ""
			if s.NeedsRoot {
				root = " (root)"
			}
			fmt.Printf("  %-24s %s%s\n", s.Name, s.Description, root)
		}
		os.Exit(2)
	}
	sc, ok := lab.Find(os.Args[1])
	if !ok {
		fmt.Fprintf(os.Stderr, "no scenario %q; run without arguments for the list\n", os.Args[1])
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	l, err := lab.Start(ctx, sc)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	statuses := l.Trigger(ctx, 5)
	cancel()
	fmt.Printf("Scenario %s is running; nginx listens on %s.\n", sc.Name, l.Addr)
	fmt.Printf("Requests to %s got %v.\n\n", l.Path, statuses)
	fmt.Printf("  config:     %s\n  error log:  %s\n  access log: %s\n\n", l.Config, l.ErrorLog, l.AccessLog)
	fmt.Printf("Try it by hand:  curl -sv -H 'Host: lab.test' http://%s%s\n", l.Addr, l.Path)
	fmt.Printf("Or diagnose it:  sudo ngxdoctor -c %s\n\n", l.Config)
	fmt.Println("Ctrl-C stops nginx and the backends and removes everything the scenario made.")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
