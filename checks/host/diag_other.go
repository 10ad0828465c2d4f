//go:build !linux

package host

import "errors"

// sock_diag is Linux's; elsewhere the /proc fallback reports what it can.
var errNoDiag = errors.New("sock_diag is only on linux")

func diagTCPListeners() ([]sockEntry, error)  { return nil, errNoDiag }
func diagUnixListeners() ([]sockEntry, error) { return nil, errNoDiag }
