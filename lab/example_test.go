package lab_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/lab"
)

// Start a scenario, make it fail a few times, read what nginx logged, and
// tear it all down.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	s, _ := lab.Find("backend-down")
	l, err := lab.Start(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	fmt.Println(l.Trigger(ctx, 3)) // [502 502 502]
	logText, _ := os.ReadFile(l.ErrorLog)
	fmt.Println(strings.Contains(string(logText), s.Message)) // true
}
