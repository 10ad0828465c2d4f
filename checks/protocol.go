package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// Mismatch is a target whose listener speaks another protocol than the
// one nginx sends it: HTTP to php-fpm, FastCGI to gunicorn, HTTP to a
// uwsgi socket.
type Mismatch struct {
	Listener host.Listener
	Who      host.Identity
	// Sends and Speaks name the two protocols ("HTTP", "FastCGI", "uwsgi").
	Sends, Speaks string
	// Directive is the pass that would match: "fastcgi_pass 127.0.0.1:9000".
	Directive string
}

// mismatch finds, from who listens at t, a program that speaks another
// protocol than the pass's. Only programs whose protocol is known count.
func (s *Snapshot) mismatch(t nginx.Target) (Mismatch, bool) {
	l, ok := listenerFor(s.Listeners, t)
	if !ok {
		return Mismatch{}, false
	}
	who := host.Identify(l, s.Processes)
	sends := sentProtocol(t)
	if who.Speaks == "" || sends == "" || who.Speaks == sends {
		return Mismatch{}, false
	}
	m := Mismatch{Listener: l, Who: who, Sends: protocolTitle(sends), Speaks: protocolTitle(who.Speaks)}
	addr := t.Address
	switch who.Speaks {
	case "fastcgi":
		m.Directive = "fastcgi_pass " + addr + " (with include fastcgi_params and SCRIPT_FILENAME)"
	case "uwsgi":
		m.Directive = "uwsgi_pass " + addr + " (with include uwsgi_params)"
	case "http":
		if t.Network == "unix" {
			addr = "unix:" + t.Path + ":"
		}
		m.Directive = "proxy_pass http://" + addr
	}
	return m, true
}

// sentProtocol is what nginx speaks to t, in Identity.Speaks' words.
func sentProtocol(t nginx.Target) string {
	switch t.Kind {
	case "http", "unix":
		return "http"
	case "fastcgi", "uwsgi":
		return t.Kind
	}
	return "" // https, grpc, scgi, memcached: not told apart here
}

func protocolTitle(p string) string {
	switch p {
	case "http":
		return "HTTP"
	case "fastcgi":
		return "FastCGI"
	}
	return p
}

// summary is the mismatch in one sentence a person can act on.
func (m Mismatch) summary(t nginx.Target, passAt string) string {
	return fmt.Sprintf("nginx speaks %s to %s (%s), but %s listens there and speaks %s: it cannot read nginx's request. Use %s.",
		m.Sends, t.Address, passAt, whoIs(m.Listener, m.Who), m.Speaks, m.Directive)
}

// whoIs names the program behind a listener: "php-fpm (pid 812, user www-data)".
func whoIs(l host.Listener, who host.Identity) string {
	name := who.Name
	if name == "" {
		name = l.Process
	}
	if name == "" {
		return "a process"
	}
	if l.PID > 0 {
		name += fmt.Sprintf(" (pid %d", l.PID)
		if l.User != "" {
			name += ", user " + l.User
		}
		name += ")"
	}
	return name
}
