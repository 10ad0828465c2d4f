package host

import "testing"

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		comm string
		argv []string
		want Identity
	}{
		{"php-fpm8.2", []string{"php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"}, Identity{"php-fpm", "fastcgi", RoleApp}},
		{"python3", []string{"/usr/bin/python3", "/usr/bin/gunicorn", "-b", "127.0.0.1:8000", "app:app"}, Identity{"gunicorn", "http", RoleApp}},
		{"gunicorn", []string{"gunicorn: master [app:app]"}, Identity{"gunicorn", "http", RoleApp}},
		{"uwsgi", []string{"uwsgi", "--socket", "127.0.0.1:3031"}, Identity{"uwsgi", "uwsgi", RoleApp}},
		{"uwsgi", []string{"uwsgi", "--http", ":9090"}, Identity{"uwsgi", "http", RoleApp}},
		{"node", []string{"node", "server.js"}, Identity{"node", "http", RoleApp}},
		{"sshd", nil, Identity{"sshd", "", RoleService}},
		{"postgres", []string{"/usr/lib/postgresql/15/bin/postgres"}, Identity{"postgres", "", RoleService}},
		{"nginx", []string{"nginx: master process /usr/sbin/nginx"}, Identity{"nginx", "", RoleService}},
		{"redis-server", []string{"/usr/bin/redis-server 127.0.0.1:6379"}, Identity{"redis-server", "", RoleService}},
		{"myapp", []string{"/opt/myapp/bin/myapp"}, Identity{"myapp", "", RoleUnknown}},
		// Sockets in an ini file: the protocol is unknown, not uwsgi's.
		{"uwsgi", []string{"uwsgi", "--ini", "/etc/uwsgi/app.ini"}, Identity{"uwsgi", "", RoleApp}},
		// A path that merely contains an app server's name ("thin").
		{"myapp", []string{"/srv/something/bin/myapp", "--root", "/opt/everything"}, Identity{"myapp", "", RoleUnknown}},
		{"ruby", []string{"/usr/bin/ruby", "/srv/anything/server.rb"}, Identity{"ruby", "", RoleUnknown}},
		{"ruby", []string{"/usr/bin/ruby", "/usr/local/bin/thin", "start"}, Identity{"thin", "http", RoleApp}},
		{"ruby", []string{"puma 6.4.2 (tcp://127.0.0.1:3000) [app]"}, Identity{"puma", "http", RoleApp}},
	} {
		if got := identify(tc.comm, tc.argv); got != tc.want {
			t.Errorf("%s %q: got %+v, want %+v", tc.comm, tc.argv, got, tc.want)
		}
	}
}

// One uwsgi with a uwsgi-protocol socket for nginx and an HTTP one: each
// listener speaks its own option's protocol.
func TestIdentifyUwsgiPerSocket(t *testing.T) {
	procs := []Process{{PID: 7, Name: "uwsgi", Cmdline: []string{"uwsgi", "--http-socket", ":9090", "--socket=127.0.0.1:3031", "-s", "/run/uwsgi/app.sock"}}}
	for _, tc := range []struct {
		l    Listener
		want string
	}{
		{Listener{Network: "tcp", Address: "127.0.0.1:3031", IP: "127.0.0.1", Port: 3031, PID: 7}, "uwsgi"},
		{Listener{Network: "tcp", Address: "0.0.0.0:9090", IP: "0.0.0.0", Port: 9090, PID: 7}, "http"},
		{Listener{Network: "unix", Address: "/run/uwsgi/app.sock", PID: 7}, "uwsgi"},
		// Named by no option: set in an ini file, or uwsgi's own.
		{Listener{Network: "tcp", Address: "127.0.0.1:40000", IP: "127.0.0.1", Port: 40000, PID: 7}, ""},
	} {
		if got := Identify(tc.l, procs).Speaks; got != tc.want {
			t.Errorf("%s: speaks %q, want %q", tc.l.Address, got, tc.want)
		}
	}
}
