//go:build linux

package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sock_diag (NETLINK_SOCK_DIAG) is how ss reads sockets: for a listening
// socket it reports the accept queue now (rqueue) and its limit (wqueue).
// x/sys has the constants but not the request structs, so they are laid
// out by hand below (linux/inet_diag.h, linux/unix_diag.h).

const (
	tcpListenState   = 10 // TCP_LISTEN
	nlmsgHdrLen      = 16
	inetDiagReqLen   = 56 // inet_diag_req_v2
	inetDiagMsgLen   = 72 // inet_diag_msg
	unixDiagReqLen   = 24 // unix_diag_req
	unixDiagMsgLen   = 16 // unix_diag_msg
	udiagShowName    = 0x01
	udiagShowRQLen   = 0x10
	unixDiagNameAttr = 0
	unixDiagRQLen    = 4
)

var errShortDiag = errors.New("short sock_diag message")

func diagTCPListeners() ([]sockEntry, error) {
	var out []sockEntry
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, inetDiagReqLen)
		req[0] = fam
		req[1] = unix.IPPROTO_TCP
		binary.NativeEndian.PutUint32(req[4:], 1<<tcpListenState)
		err := diagDump(req, func(msg []byte) error {
			if len(msg) < inetDiagMsgLen {
				return errShortDiag
			}
			// inet_diag_sockid starts at 4: sport, dport (big-endian), src[16], dst[16], if, cookie.
			port := int(binary.BigEndian.Uint16(msg[4:6]))
			var ip net.IP
			if msg[0] == unix.AF_INET {
				ip = net.IP(append([]byte(nil), msg[8:12]...))
			} else {
				ip = net.IP(append([]byte(nil), msg[8:24]...))
			}
			e := sockEntry{l: tcpListener(ip, port)}
			e.l.Queue = int(binary.NativeEndian.Uint32(msg[56:60]))
			e.l.Backlog = int(binary.NativeEndian.Uint32(msg[60:64]))
			e.uid, e.hasUID = binary.NativeEndian.Uint32(msg[64:68]), true
			e.inode = uint64(binary.NativeEndian.Uint32(msg[68:72]))
			out = append(out, e)
			return nil
		})
		// A host without IPv6 answers the AF_INET6 dump with an error; the
		// IPv4 half is still right.
		if err != nil && fam == unix.AF_INET {
			return nil, err
		}
	}
	return out, nil
}

func diagUnixListeners() ([]sockEntry, error) {
	req := make([]byte, unixDiagReqLen)
	req[0] = unix.AF_UNIX
	binary.NativeEndian.PutUint32(req[4:], 1<<tcpListenState)
	binary.NativeEndian.PutUint32(req[12:], udiagShowName|udiagShowRQLen)
	var out []sockEntry
	err := diagDump(req, func(msg []byte) error {
		if len(msg) < unixDiagMsgLen {
			return errShortDiag
		}
		if msg[1] != unix.SOCK_STREAM {
			return nil
		}
		e := sockEntry{inode: uint64(binary.NativeEndian.Uint32(msg[4:8]))}
		var path string
		for attrs := msg[unixDiagMsgLen:]; len(attrs) >= 4; {
			alen := int(binary.NativeEndian.Uint16(attrs[0:2]))
			atype := binary.NativeEndian.Uint16(attrs[2:4])
			if alen < 4 || alen > len(attrs) {
				break
			}
			val := attrs[4:alen]
			switch atype {
			case unixDiagNameAttr:
				path = string(val)
				if strings.HasPrefix(path, "\x00") {
					path = "@" + path[1:] // abstract, as ss writes it
				}
				path = strings.TrimRight(path, "\x00")
			case unixDiagRQLen:
				if len(val) >= 8 {
					e.l.Queue = int(binary.NativeEndian.Uint32(val[0:4]))
					e.l.Backlog = int(binary.NativeEndian.Uint32(val[4:8]))
				}
			}
			next := (alen + 3) &^ 3
			if next > len(attrs) {
				break
			}
			attrs = attrs[next:]
		}
		if path == "" {
			return nil // unnamed: nothing could connect to it by name
		}
		e.l.Network, e.l.Address = "unix", path
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// diagDump sends one SOCK_DIAG_BY_FAMILY dump request and calls each for the
// payload of every answer until NLMSG_DONE.
func diagDump(req []byte, each func([]byte) error) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	// The kernel answers at once; the timeout guards against a kernel that never does.
	tv := unix.Timeval{Sec: 2}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)

	msg := make([]byte, nlmsgHdrLen+len(req))
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	copy(msg[nlmsgHdrLen:], req)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sock_diag send: %w", err)
	}

	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("sock_diag receive: %w", err)
		}
		b := buf[:n]
		for len(b) >= nlmsgHdrLen {
			mlen := int(binary.NativeEndian.Uint32(b[0:4]))
			mtype := binary.NativeEndian.Uint16(b[4:6])
			if mlen < nlmsgHdrLen || mlen > len(b) {
				return errShortDiag
			}
			payload := b[nlmsgHdrLen:mlen]
			switch mtype {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(payload) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(payload[0:4])); code != 0 {
						return fmt.Errorf("sock_diag: %w", syscall.Errno(-code))
					}
				}
				return nil
			default:
				if err := each(payload); err != nil {
					return err
				}
			}
			next := (mlen + 3) &^ 3
			if next > len(b) {
				break
			}
			b = b[next:]
		}
	}
}
