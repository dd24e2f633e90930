package api

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultClusterTCPCongestion is the TCP congestion control of connections inside the cluster
// (gateways to targets, targets to targets) unless a daemon is told otherwise. The links inside
// a cluster are short and fast; an algorithm that paces its sends (BBR, the default of many
// distributions, without the fq queueing discipline) arms a kernel timer for every burst there,
// which costs more CPU than the bytes themselves (docs/performance.md). CUBIC, the kernel's
// own default, sends as fast as the window allows.
const DefaultClusterTCPCongestion = "cubic"

// DefaultPublicTCPCongestion is the TCP congestion control of the connections that clients
// open to a gateway's or a target's public listener unless a daemon is told otherwise. Those
// sockets send the objects of every GET, so pacing costs the same there: on the machine of
// docs/performance.md (BBR without fq) a target spent 320 µs of CPU in the kernel per 1 MiB
// GET with BBR and 130 µs with CUBIC. Clients across long or lossy links may prefer BBR (with
// fq); the daemons' --public-tcp-congestion says so.
const DefaultPublicTCPCongestion = "cubic"

// TCPCongestion is a net.Dialer or net.ListenConfig Control function that sets the TCP
// congestion control of each socket to name (TCP_CONGESTION; sockets accepted by a listener
// inherit it). An empty name leaves the system's default and returns nil. A socket the kernel
// refuses the algorithm to keeps the system's default: the connection is never failed for it,
// and fail (if not nil) is called once, with an error that says what to do.
func TCPCongestion(name string, fail func(error)) func(network, address string, c syscall.RawConn) error {
	if name == "" {
		return nil
	}
	var once sync.Once
	return func(network, _ string, c syscall.RawConn) error {
		if !strings.HasPrefix(network, "tcp") {
			return nil
		}
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, name)
		}); err != nil {
			serr = err
		}
		if serr != nil && fail != nil {
			once.Do(func() { fail(congestionError(name, serr)) })
		}
		return nil
	}
}

func congestionError(name string, err error) error {
	sysDefault := "the system's default"
	if b, rerr := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); rerr == nil {
		sysDefault = strings.TrimSpace(string(b)) + ", the system's default"
	}
	return fmt.Errorf("TCP congestion control %q cannot be set (%v): "+
		"the connections use %s. Load it (modprobe tcp_%s), allow it to this user "+
		"(sysctl net.ipv4.tcp_allowed_congestion_control, or run with CAP_NET_ADMIN), "+
		"or give the daemon's flag an allowed name (\"\" keeps the default)", name, err, sysDefault, name)
}

// ClusterTransport returns a copy of the transport of hc (or of NewHTTPClient's when it has
// none of its own) whose connections use the TCP congestion control name.
func ClusterTransport(hc *http.Client, name string, fail func(error)) *http.Transport {
	var tr *http.Transport
	if hc != nil {
		tr, _ = hc.Transport.(*http.Transport)
	}
	if tr == nil {
		tr = NewHTTPClient().Transport.(*http.Transport)
	}
	tr = tr.Clone()
	if ctl := TCPCongestion(name, fail); ctl != nil {
		d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: ctl}
		tr.DialContext = d.DialContext
	}
	return tr
}

// ConnCongestion returns the TCP congestion control that connection c uses.
func ConnCongestion(c syscall.Conn) (string, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return "", err
	}
	var name string
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		name, gerr = unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	}); err != nil {
		return "", err
	}
	return strings.TrimRight(name, "\x00"), gerr
}
