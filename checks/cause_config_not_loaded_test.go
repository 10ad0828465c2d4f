package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestConfigNotLoadedRule(t *testing.T) {
	ok200 := probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	running := func(s *Snapshot) {
		s.Probes[tcp3000.Address] = ok200
		s.Install.MasterPID, s.Install.WorkerPIDs = 100, []int32{101}
		s.Processes = []host.Process{{PID: 100, Started: now.Add(-time.Hour)}, {PID: 101, PPID: 100, Started: now.Add(-10 * time.Minute)}}
	}
	by := func(pid int, e logs.Entry) logs.Entry { e.PID = pid; return e }
	testRule(t, CauseConfigNotLoaded, []ruleCase{
		{"a running worker still connects to the old port", tcp3000, func(s *Snapshot) {
			running(s)
			s.ErrorLogs = lines(by(101, entry(logs.Refused, "127.0.0.1:2999", now.Add(-time.Minute))), by(101, entry(logs.Refused, "127.0.0.1:2999", now.Add(-time.Second))))
		}, true, false, 2},
		{"a worker since replaced did (the reload happened)", tcp3000, func(s *Snapshot) {
			running(s)
			s.ErrorLogs = lines(by(99, entry(logs.Refused, "127.0.0.1:2999", now.Add(-time.Minute))))
		}, false, false, 0},
		{"a request through nginx now goes to the old port", tcp3000, func(s *Snapshot) {
			running(s)
			s.Replays = []Replay{{Method: "GET", Path: "/", Host: "lab.test", Pass: 0, Status: 502, Lines: []logs.Entry{by(101, entry(logs.Refused, "127.0.0.1:2999", now))}}}
		}, true, true, 0},
		{"the master logged an [emerg] after the workers started: a failed reload", tcp3000, func(s *Snapshot) {
			running(s)
			e := by(100, entry(logs.Other, "", now.Add(-time.Minute)))
			e.Level, e.Message = "emerg", `unknown directive "proxy_pas"`
			s.ErrorLogs = lines(e)
		}, true, true, 0},
		{"an [emerg] from before the last reload", tcp3000, func(s *Snapshot) {
			running(s)
			e := by(100, entry(logs.Other, "", now.Add(-11*time.Minute)))
			e.Level = "emerg"
			s.ErrorLogs = lines(e)
		}, false, false, 0},
	})
}
