package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// ManyBackends is a scenario kept out of Scenarios() (it is big and slow
// for the per-cause loops): groups upstream blocks sharing servers
// backends on loopback, of which down have nothing listening. Each group
// has a location /apiNN/; Path is the first group's, which fails with 502
// when its servers are down. It is the wizard's screen at scale.
func ManyBackends(groups, servers, down int) Scenario {
	return Scenario{
		Name:        "many-backends",
		Cause:       "backend-down",
		Description: fmt.Sprintf("%d upstream groups, %d servers; %d of them stopped.", groups, servers, down),
		Status:      http.StatusBadGateway,
		Message:     "connect() failed (111: Connection refused) while connecting to upstream",
		setup: func(ctx context.Context, l *Lab) (string, error) {
			addrs := make([]string, servers)
			seen := map[string]bool{}
			// The live ones first, so that no stopped one's port is taken
			// by a live one afterwards.
			for i := down; i < servers; i++ {
				a, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				addrs[i] = a
				seen[a] = true
			}
			for i := range down {
				// FreePort reserves nothing: a port it gave once may come again.
				for tries := 0; addrs[i] == "" || seen[addrs[i]]; tries++ {
					port, err := FreePort()
					if err != nil || tries > 100 {
						return "", fmt.Errorf("no free port: %v", err)
					}
					addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
				}
				seen[addrs[i]] = true
			}
			l.Backends = append(addrs[:down:down], l.Backends...)
			var ups, body strings.Builder
			for g := range groups {
				fmt.Fprintf(&ups, "upstream api%02d {\n", g)
				for i := g; i < servers; i += groups {
					fmt.Fprintf(&ups, "    server %s;\n", addrs[i])
				}
				ups.WriteString("}\n")
				fmt.Fprintf(&body, "location /api%02d/ {\n    proxy_pass http://api%02d;\n}\n", g, g)
			}
			l.Path = "/api00/"
			return l.server(ups.String(), body.String()), nil
		},
	}
}
