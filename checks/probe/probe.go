// Package probe connects to targets as nginx would, each with a deadline,
// and asks accepting HTTP backends for a response.
package probe

import "time"

// Status of a connect probe; the values are the JSON contract's.
type Status string

const (
	Connected        Status = "connected"
	Refused          Status = "refused"
	Timeout          Status = "timeout"
	PermissionDenied Status = "permission-denied"
	NoSuchFile       Status = "no-such-file"
	Unreachable      Status = "unreachable"
	DNSError         Status = "dns-error"
	Skipped          Status = "skipped"
)

// Result of connecting to one target.
type Result struct {
	Status Status `json:"result"`
	// Errno of the failure (111, 13, 2, 113, ...), 0 when none.
	Errno    int           `json:"errno,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"-"`
	// Resolved addresses, for a host-name target.
	Resolved []string `json:"resolved,omitempty"`
	// Peers are the results at each address of a name that resolves to
	// several, in the resolver's order. Status is Connected when one of
	// them accepted; a refusal beside it is still a failure nginx meets.
	Peers []Peer `json:"peers,omitempty"`
	// HTTP is the request made once connected (nil when not attempted).
	HTTP *HTTP `json:"http,omitempty"`
}

// Peer is the connect result at one address of a host name.
type Peer struct {
	Address  string        `json:"address"` // "[::1]:3000"
	Status   Status        `json:"result"`
	Errno    int           `json:"errno,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"-"`
}

// Failed returns the peers that did not accept.
func (r Result) Failed() []Peer {
	var out []Peer
	for _, p := range r.Peers {
		if p.Status != Connected {
			out = append(out, p)
		}
	}
	return out
}

// HTTP is a request straight to the backend, as nginx would send it.
type HTTP struct {
	// Protocol spoken: "http", "https", "fastcgi".
	Protocol string `json:"protocol"`
	// Status is the HTTP status (for fastcgi, the Status header or 200).
	Status int `json:"status,omitempty"`
	// Request is what was asked: "GET /api/orders Host: shop.example".
	Request string `json:"request,omitempty"`
	// TTFB is the time to the first byte of the response.
	TTFB time.Duration `json:"-"`
	// TTFBMs is TTFB in milliseconds, for the JSON report.
	TTFBMs float64 `json:"ttfb_ms,omitempty"`
	// Waited is how long the probe was ready to wait for an answer (see
	// Ask); a Class "timeout" means no answer came within it.
	Waited time.Duration `json:"-"`
	// ReadTimeout is the read timeout in force that Waited was measured
	// against (0 when not known).
	ReadTimeout time.Duration `json:"-"`
	// HeaderBytes is the size of the response header block.
	HeaderBytes int `json:"header_bytes,omitempty"`
	// Error is set when no valid response came: "closed", "reset",
	// "timeout", "invalid response: ...", "tls: ...".
	Error string `json:"error,omitempty"`
	// Class names the error in the logs' vocabulary ("closed", "reset",
	// "timeout", "invalid-header", "tls", "broken-pipe", "header-too-big";
	// "canceled" when the caller gave up), empty on success.
	Class string `json:"class,omitempty"`
	// Speaks names the protocol the port really speaks when it is not the
	// one nginx is told to use: "tls", "http", "ssh". It is what turns a
	// reset or an invalid header into "fix the scheme in the *_pass".
	Speaks string `json:"speaks,omitempty"`
}
