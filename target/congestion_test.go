package target

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/aisfoundry/ais/api"
)

// TestListenerCongestion gives a target's public and data listeners Reno (built into every
// Linux kernel and allowed to every user) and checks the connections they accept; the control
// listener keeps the system's default.
func TestListenerCongestion(t *testing.T) {
	sysDefault, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		t.Skipf("no TCP congestion control sysctl: %v", err)
	}
	cfg := DefaultConfig()
	cfg.ID = "t1"
	cfg.MetaURLs = []string{"http://127.0.0.1:1"}
	cfg.PublicAddr, cfg.ControlAddr, cfg.DataAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Mountpaths = tempMountpaths(t, 1)
	cfg.PublicTCPCongestion, cfg.ClusterTCPCongestion = "reno", "reno"
	s, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ listener, want string }{
		{"public", "reno"},
		{"data", "reno"},
		{"control", strings.TrimSpace(string(sysDefault))},
	} {
		lc := s.listenConfig(tc.listener)
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		got, err := api.ConnCongestion(a.(*net.TCPConn))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s listener: accepted connection uses %q, want %q", tc.listener, got, tc.want)
		}
		a.Close()
		c.Close()
		ln.Close()
	}
}
