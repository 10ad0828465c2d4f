package tui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// manyRecording is the recorded demo host with a second site: 60
// upstream groups, 200 servers on loopback; 180 refuse (nothing listens)
// and nginx logged a refused connect for each, 20 answer 200. The
// recording is made here rather than on a live host so that the frames
// are the same on every machine; the live 200-server case is in cmd's
// e2e test against a real nginx.
func manyRecording() *host.Recording {
	b, _ := json.Marshal(demoRecording())
	var r host.Recording
	if err := json.Unmarshal(b, &r); err != nil {
		panic(err)
	}
	const groups, servers, down = 60, 200, 180
	var conf strings.Builder
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&conf, "upstream api%02d {\n", g)
		for i := g; i < servers; i += groups {
			fmt.Fprintf(&conf, "    server 127.0.0.1:%d;\n", 20000+i)
		}
		conf.WriteString("}\n")
	}
	conf.WriteString("server {\n    listen 127.0.0.1:8080;\n    server_name api.example.com;\n")
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&conf, "    location /api%02d/ {\n        proxy_pass http://api%02d;\n    }\n", g, g)
	}
	conf.WriteString("}\n")
	content := conf.String()
	site := "/etc/nginx/sites-enabled/api.conf"
	shop := r.Files["/etc/nginx/sites-enabled/shop.conf"]
	st := *shop.Stat
	st.Path, st.Size = site, int64(len(content))
	r.Files[site] = &host.RecordedFile{Stat: &st, Content: &content}
	r.Globs["/etc/nginx/sites-enabled/*.conf"] = append(r.Globs["/etc/nginx/sites-enabled/*.conf"], site)

	log := r.Files["/var/log/nginx/error.log"]
	lines := *log.Content
	at := r.Now.Add(-2 * time.Minute).In(time.UTC).Format("2006/01/02 15:04:05")
	for i := 0; i < servers; i++ {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+i)
		if i < down {
			r.Dials["tcp "+addr] = &host.RecordedDial{Errno: "ECONNREFUSED"}
			g := i % groups
			lines += fmt.Sprintf("%s [error] 13432#13432: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: api.example.com, request: \"GET /api%02d/ HTTP/1.1\", upstream: \"http://%s/api%02d/\", host: \"api.example.com\"\n",
				at, 100+i, g, addr, g)
			continue
		}
		r.Dials["tcp "+addr] = &host.RecordedDial{Response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"}
		r.Listeners = append(r.Listeners, host.Listener{Network: "tcp", Address: addr, IP: "127.0.0.1", Port: 20000 + i, PID: 14000, Process: "api", User: "app", Backlog: 4096})
	}
	log.Content = &lines
	if log.Stat != nil {
		s := *log.Stat
		s.Size = int64(len(lines))
		log.Stat = &s
	}
	return &r
}

// manyOutcome diagnoses the 200-server recording with the real engine.
func manyOutcome() *checks.Outcome {
	return runRecorded(host.Replay(manyRecording()), checks.Options{})
}
