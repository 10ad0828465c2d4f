package host

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Role says what kind of program holds a listening socket.
type Role string

const (
	// RoleApp is an application server: what nginx proxies to.
	RoleApp Role = "app"
	// RoleService is a program that never serves nginx's requests
	// (databases, caches, ssh, mail, DNS, nginx itself).
	RoleService Role = "service"
	// RoleUnknown is any other program, such as a service's own binary.
	RoleUnknown Role = ""
)

// Identity is who listens on a socket, as an engineer would name it.
type Identity struct {
	// Name is the program as people call it: "php-fpm", "gunicorn", "node".
	Name string `json:"name,omitempty"`
	// Speaks is the protocol it serves there: "http", "fastcgi", "uwsgi",
	// or "" when its name does not say.
	Speaks string `json:"speaks,omitempty"`
	Role   Role   `json:"role,omitempty"`
}

// Identify names the program behind a listener from its process name and,
// when procs has it, its command line (gunicorn runs as "python3").
func Identify(l Listener, procs []Process) Identity {
	var argv []string
	name := l.Process
	for _, p := range procs {
		if p.PID == l.PID && l.PID > 0 {
			argv = p.Cmdline
			if name == "" {
				name = p.Name
			}
			break
		}
	}
	id := identify(name, argv)
	if id.Name == "uwsgi" && l.Address != "" {
		// The option that names this socket says its protocol; a socket
		// no option names (set in an ini file, or uwsgi's own internal
		// one) speaks what is not known here.
		id.Speaks = uwsgiSpeaksAt(argv, l)
	}
	return id
}

// uwsgiSockets are uwsgi's socket options by the protocol each serves.
var uwsgiSockets = map[string]string{
	"--socket": "uwsgi", "-s": "uwsgi", "--uwsgi-socket": "uwsgi",
	"--http-socket": "http", "--http": "http",
	"--fastcgi-socket": "fastcgi",
}

// uwsgiSpeaksAt is the protocol of the uwsgi option whose address is l's
// (one uwsgi often has a --socket for nginx and an --http for checks),
// "" when no option names it.
func uwsgiSpeaksAt(argv []string, l Listener) string {
	for i, a := range argv {
		opt, val, eq := strings.Cut(a, "=")
		sp, ok := uwsgiSockets[opt]
		if !ok {
			continue
		}
		if !eq {
			if i+1 >= len(argv) {
				continue
			}
			val = argv[i+1]
		}
		if val == l.Address {
			return sp
		}
		// ":3031" and "0.0.0.0:3031" listen on every address.
		if h, p, err := net.SplitHostPort(val); err == nil && l.Port > 0 && p == strconv.Itoa(l.Port) && (h == "" || h == "0.0.0.0" || h == "::" || h == l.IP) {
			return sp
		}
	}
	return ""
}

var services = map[string]bool{
	"sshd": true, "postgres": true, "postmaster": true, "mysqld": true, "mariadbd": true, "redis-server": true,
	"memcached": true, "mongod": true, "systemd": true, "systemd-resolve": true, "systemd-resolved": true,
	"dnsmasq": true, "chronyd": true, "master": true, "exim4": true, "postfix": true, "dovecot": true,
	"containerd": true, "dockerd": true, "rpcbind": true, "cupsd": true, "named": true, "unbound": true,
	"nginx": true, "ngxdoctor": true, "rabbitmq-server": true, "beam.smp": true, "epmd": true,
	"etcd": true, "consul": true, "slapd": true, "smbd": true, "avahi-daemon": true, "sshd-session": true,
}

func identify(comm string, argv []string) Identity {
	base := comm
	if len(argv) > 0 && base == "" {
		base = filepath.Base(argv[0])
	}
	title := strings.Join(argv, " ")
	switch {
	case strings.HasPrefix(base, "php-fpm") || strings.HasPrefix(title, "php-fpm:"):
		return Identity{Name: "php-fpm", Speaks: "fastcgi", Role: RoleApp}
	case base == "uwsgi" || strings.HasPrefix(title, "uwsgi "):
		// Only an option on the command line says the protocol: sockets
		// set in an ini, yaml or xml file (uwsgi --ini app.ini) are
		// unknown here, not the uwsgi protocol.
		speaks := ""
		switch {
		case hasArg(argv, "--http", "--http-socket", "--https"):
			speaks = "http"
		case hasArg(argv, "--fastcgi-socket"):
			speaks = "fastcgi"
		case hasArg(argv, "--socket", "-s", "--uwsgi-socket"):
			speaks = "uwsgi"
		}
		return Identity{Name: "uwsgi", Speaks: speaks, Role: RoleApp}
	case services[base] || strings.HasPrefix(base, "postgres") || strings.HasPrefix(base, "nginx"):
		return Identity{Name: base, Role: RoleService}
	}
	for _, app := range []string{"gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve", "puma", "unicorn", "passenger", "thin", "starman", "plackup", "hypnotoad"} {
		if base == app || strings.HasPrefix(base, app+":") || namesProgram(argv, app) {
			return Identity{Name: app, Speaks: "http", Role: RoleApp}
		}
	}
	switch {
	case base == "node" || base == "nodejs" || base == "deno" || base == "bun" || strings.HasPrefix(title, "next-server") || strings.HasPrefix(title, "PM2"):
		return Identity{Name: "node", Speaks: "http", Role: RoleApp}
	case strings.HasPrefix(base, "python") && (strings.Contains(title, "runserver") || strings.Contains(title, "flask") || strings.Contains(title, "http.server")):
		return Identity{Name: base, Speaks: "http", Role: RoleApp}
	case base == "java" || base == "dotnet" || base == "php" && hasArg(argv, "-S"):
		return Identity{Name: base, Speaks: "http", Role: RoleApp}
	}
	return Identity{Name: base}
}

// namesProgram reports whether a word of the command line is the program
// app by its base name ("/usr/bin/gunicorn", "gunicorn:", "puma 6.4.2"):
// a path that merely contains the name (/srv/something has "thin") is not.
func namesProgram(argv []string, app string) bool {
	for _, a := range argv {
		for _, w := range strings.Fields(a) {
			w = strings.TrimSuffix(filepath.Base(w), ":")
			if w == app {
				return true
			}
		}
	}
	return false
}

func hasArg(argv []string, names ...string) bool {
	for _, a := range argv {
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") {
				return true
			}
		}
	}
	return false
}
