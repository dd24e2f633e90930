package target

import (
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// acceptedCongestion returns the TCP congestion control of the socket in this process that
// accepted c (the server side of a loopback connection c dialed): it looks for the socket
// whose local address is c's remote one and whose peer is c's local one.
func acceptedCongestion(t *testing.T, c net.Conn) string {
	t.Helper()
	local, remote := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("no /proc/self/fd: %v", err)
		}
		for _, e := range fds {
			fd, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			sa, err := unix.Getsockname(fd)
			if err != nil {
				continue
			}
			me, ok := sa.(*unix.SockaddrInet4)
			if !ok || me.Port != remote.Port {
				continue
			}
			pa, err := unix.Getpeername(fd)
			if peer, ok := pa.(*unix.SockaddrInet4); err != nil || !ok || peer.Port != local.Port {
				continue
			}
			name, err := unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION)
			if err != nil {
				t.Fatalf("TCP_CONGESTION of fd %d: %v", fd, err)
			}
			return strings.TrimRight(name, "\x00")
		}
		time.Sleep(10 * time.Millisecond) // not accepted yet
	}
	t.Fatalf("no socket in this process accepted %s -> %s", local, remote)
	return ""
}

// TestListenerCongestion runs a target whose public and data listeners are given Reno (built
// into every Linux kernel and allowed to every user) and checks the sockets they accept; the
// control listener keeps the system's default.
func TestListenerCongestion(t *testing.T) {
	sysDefault, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		t.Skipf("no TCP congestion control sysctl: %v", err)
	}
	s, stop := runTarget(t, func(c *Config) { c.PublicTCPCongestion, c.ClusterTCPCongestion = "reno", "reno" })
	defer func() { _ = stop() }()
	n := s.Node()
	for _, tc := range []struct{ listener, url, want string }{
		{"public", n.PublicURL, "reno"},
		{"data", n.DataURL, "reno"},
		{"control", n.ControlURL, strings.TrimSpace(string(sysDefault))},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		if got := acceptedCongestion(t, c); got != tc.want {
			t.Errorf("%s listener: accepted connection uses %q, want %q", tc.listener, got, tc.want)
		}
		c.Close()
	}
}
