package api

import (
	"context"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

func congestionOf(t *testing.T, c net.Conn) string {
	t.Helper()
	name, err := ConnCongestion(c.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// pair returns both ends of a loopback connection: the dialed one (dialer control) and the
// accepted one (listener control).
func pair(t *testing.T, listen, dial func(string, string, syscall.RawConn) error) (net.Conn, net.Conn) {
	t.Helper()
	l, err := (&net.ListenConfig{Control: listen}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	d, err := (&net.Dialer{Control: dial}).Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	if a == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { d.Close(); a.Close() })
	return d, a
}

// TestTCPCongestion checks that dialed sockets and the sockets a listener accepts get the
// algorithm asked for. Reno is built into every Linux kernel and allowed to every user.
func TestTCPCongestion(t *testing.T) {
	ctl := TCPCongestion("reno", func(err error) { t.Errorf("reno refused: %v", err) })
	d, a := pair(t, ctl, ctl)
	if got := congestionOf(t, d); got != "reno" {
		t.Fatalf("dialed connection uses %q, want reno", got)
	}
	if got := congestionOf(t, a); got != "reno" {
		t.Fatalf("accepted connection uses %q, want reno", got)
	}
	if TCPCongestion("", nil) != nil {
		t.Fatal(`TCPCongestion("") must leave sockets alone (nil control)`)
	}
}

// TestTCPCongestionRefused checks that an algorithm the kernel does not have fails no
// connection: they keep the system's default, and the failure is reported once, saying what
// to do.
func TestTCPCongestionRefused(t *testing.T) {
	var calls atomic.Int32
	var msg atomic.Value
	ctl := TCPCongestion("no-such-algorithm", func(err error) { calls.Add(1); msg.Store(err.Error()) })
	sysDefault := ""
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); err == nil {
		sysDefault = strings.TrimSpace(string(b))
	}
	for range 3 {
		d, a := pair(t, ctl, ctl)
		for _, c := range []net.Conn{d, a} {
			if got := congestionOf(t, c); sysDefault != "" && got != sysDefault {
				t.Fatalf("connection uses %q, want the system's default %q", got, sysDefault)
			}
		}
		if _, err := d.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("refusal reported %d times, want once", n)
	}
	for _, want := range []string{`"no-such-algorithm"`, "modprobe tcp_no-such-algorithm", "daemon's flag"} {
		if s, _ := msg.Load().(string); !strings.Contains(s, want) {
			t.Fatalf("message %q does not say %s", s, want)
		}
	}
}
