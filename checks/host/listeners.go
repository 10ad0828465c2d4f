package host

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sockEntry is one listening socket before its owner is known.
type sockEntry struct {
	l      Listener
	inode  uint64
	uid    uint32
	hasUID bool
}

// listListeners asks the kernel through sock_diag first, since only it gives
// the accept queue's limit (ss's Send-Q); /proc/net is the fallback with
// Backlog 0. Owners come from /proc/*/fd.
func listListeners(ctx context.Context, userName func(uint32) string) ([]Listener, error) {
	var entries []sockEntry
	tcp, err := diagTCPListeners()
	if err != nil {
		tcp, err = procTCPListeners()
		if err != nil {
			return nil, fmt.Errorf("list tcp listeners: %w", err)
		}
	}
	entries = append(entries, tcp...)
	unixs, err := diagUnixListeners()
	if err != nil {
		unixs, err = procUnixListeners()
		if err != nil {
			return nil, fmt.Errorf("list unix listeners: %w", err)
		}
	}
	entries = append(entries, unixs...)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list listeners: %w", err)
	}

	wanted := make(map[uint64]bool, len(entries))
	for _, e := range entries {
		wanted[e.inode] = true
	}
	owners := socketOwners(ctx, wanted)
	out := make([]Listener, 0, len(entries))
	for _, e := range entries {
		l := e.l
		if o, ok := owners[e.inode]; ok {
			l.PID, l.Process = o.pid, o.name
			l.User = userName(o.uid)
		} else if e.hasUID {
			l.User = userName(e.uid)
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Network != out[j].Network {
			return out[i].Network < out[j].Network
		}
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].Address < out[j].Address
	})
	return out, nil
}

func tcpListener(ip net.IP, port int) Listener {
	ipStr := ip.String()
	return Listener{
		Network: "tcp",
		Address: net.JoinHostPort(ipStr, strconv.Itoa(port)),
		IP:      ipStr,
		Port:    port,
	}
}

func unixListener(path string) Listener {
	return Listener{Network: "unix", Address: path}
}

// procTCPListeners parses /proc/net/tcp{,6}: rx_queue of a LISTEN socket is
// its accept queue now; the limit is not there.
func procTCPListeners() ([]sockEntry, error) {
	var out []sockEntry
	found := false
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		found = true
		out = append(out, parseProcNetTCP(b)...)
	}
	if !found {
		return nil, fmt.Errorf("read /proc/net/tcp: %w", os.ErrNotExist)
	}
	return out, nil
}

func parseProcNetTCP(b []byte) []sockEntry {
	var out []sockEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A = TCP_LISTEN
			continue
		}
		ip, port, ok := parseHexAddr(f[1])
		if !ok {
			continue
		}
		e := sockEntry{l: tcpListener(ip, port)}
		if q := strings.SplitN(f[4], ":", 2); len(q) == 2 {
			if rx, err := strconv.ParseUint(q[1], 16, 32); err == nil {
				e.l.Queue = int(rx)
			}
		}
		if uid, err := strconv.ParseUint(f[7], 10, 32); err == nil {
			e.uid, e.hasUID = uint32(uid), true
		}
		e.inode, _ = strconv.ParseUint(f[9], 10, 64)
		out = append(out, e)
	}
	return out
}

// parseHexAddr reads "0100007F:0BB8": the address as the kernel stores it,
// in 32-bit host-order words, and the port in hex.
func parseHexAddr(s string) (net.IP, int, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		// Each word is little-endian on the architectures we run on.
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	if v4 := ip.To4(); v4 != nil && len(raw) == 4 {
		ip = v4
	}
	return ip, int(port), true
}

// procUnixListeners parses /proc/net/unix for listening stream sockets.
func procUnixListeners() ([]sockEntry, error) {
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return nil, err
	}
	return parseProcNetUnix(b), nil
}

func parseProcNetUnix(b []byte) []sockEntry {
	const acceptCon = 0x10000 // __SO_ACCEPTCON: the socket listens
	var out []sockEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan()
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue // unbound: no path, nothing nginx could name
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		typ, err2 := strconv.ParseUint(f[4], 16, 16)
		if err1 != nil || err2 != nil || flags&acceptCon == 0 || typ != 1 { // 1 = SOCK_STREAM
			continue
		}
		inode, _ := strconv.ParseUint(f[6], 10, 64)
		path := strings.Join(f[7:], " ")
		out = append(out, sockEntry{l: unixListener(path), inode: inode})
	}
	return out
}

type owner struct {
	pid  int32
	ppid int32
	name string
	uid  uint32
}

// socketOwners maps socket inodes to the process holding them. A listening
// socket is often shared (nginx master and workers, php-fpm master and
// children): the holder whose parent does not also hold it is the one a
// person means, i.e. the master.
func socketOwners(ctx context.Context, wanted map[uint64]bool) map[uint64]owner {
	all := map[uint64][]int32{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/fd")
	for _, dir := range dirs {
		if ctx.Err() != nil {
			break
		}
		pid64, err := strconv.ParseInt(filepath.Base(filepath.Dir(dir)), 10, 32)
		if err != nil {
			continue
		}
		f, err := os.Open(dir)
		if err != nil {
			continue // not ours to read, or gone
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			link, err := os.Readlink(dir + "/" + n)
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(link[len("socket:["):], "]"), 10, 64)
			if err != nil || !wanted[ino] {
				continue
			}
			pids := all[ino]
			if len(pids) == 0 || pids[len(pids)-1] != int32(pid64) {
				all[ino] = append(pids, int32(pid64))
			}
		}
	}

	info := map[int32]owner{}
	get := func(pid int32) owner {
		if o, ok := info[pid]; ok {
			return o
		}
		o := readOwner(pid)
		info[pid] = o
		return o
	}
	out := make(map[uint64]owner, len(all))
	for ino, pids := range all {
		if len(pids) == 1 {
			out[ino] = get(pids[0])
			continue
		}
		holders := map[int32]bool{}
		for _, p := range pids {
			holders[p] = true
		}
		best := owner{pid: -1}
		for _, p := range pids {
			o := get(p)
			root := !holders[o.ppid]
			bestRoot := best.pid >= 0 && !holders[best.ppid]
			if best.pid < 0 || (root && !bestRoot) || (root == bestRoot && p < best.pid) {
				best = o
			}
		}
		out[ino] = best
	}
	return out
}

// readOwner reads name, parent and real uid from /proc/PID/status.
func readOwner(pid int32) owner {
	o := owner{pid: pid}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return o
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			o.name = v
		case "PPid":
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				o.ppid = int32(n)
			}
		case "Uid":
			if f := strings.Fields(v); len(f) > 0 {
				if n, err := strconv.ParseUint(f[0], 10, 32); err == nil {
					o.uid = uint32(n)
				}
			}
		}
	}
	return o
}
