package netns

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// The test binary doubles as a tiny server and client that run inside a namespace.
func TestMain(m *testing.M) {
	if addr := os.Getenv("AISC_HELPER_LISTEN"); addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			os.Exit(2)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(3)
			}
			c.Close()
		}
	}
	if addr := os.Getenv("AISC_HELPER_DIAL"); addr != "" {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			os.Exit(1)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPartitionAndHeal builds two namespaces, checks they talk, partitions them (both
// directions fail), heals, and checks they talk again; everything is removed at the end.
func TestPartitionAndHeal(t *testing.T) {
	if testing.Short() {
		t.Skip("needs root and network namespaces")
	}
	cfg := DefaultConfig()
	cfg.Prefix, cfg.Bridge, cfg.Subnet, cfg.LockPath = "aisu", "aisu-br", "10.77.9", "/run/aisu-test.lock"
	n, err := New(cfg)
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	a, err := n.Add("a", 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Add("b", 3)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range []*Node{a, b} {
		srv, err := n.Command(nd.Name, self)
		if err != nil {
			t.Fatal(err)
		}
		srv.Env = append(os.Environ(), "AISC_HELPER_LISTEN="+nd.IP+":7777")
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	}
	time.Sleep(200 * time.Millisecond)
	talk := func(from, to *Node) error {
		cmd, err := n.Command(from.Name, self)
		if err != nil {
			return err
		}
		cmd.Env = append(os.Environ(), "AISC_HELPER_DIAL="+to.IP+":7777")
		return cmd.Run()
	}
	if err := talk(a, b); err != nil {
		t.Fatalf("a cannot reach b before any fault: %v", err)
	}
	// The root namespace (the clients) reaches the nodes.
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(context.Background(), "tcp", a.IP+":7777")
	if err != nil {
		t.Fatalf("root namespace cannot reach %s: %v", a.IP, err)
	}
	c.Close()
	if err := n.Partition([]string{"a"}, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if talk(a, b) == nil || talk(b, a) == nil {
		t.Fatal("a and b still talk across a partition")
	}
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := talk(a, b); err != nil {
		t.Fatalf("a cannot reach b after heal: %v", err)
	}
	if err := n.Loss("a", 100); err != nil {
		t.Fatal(err)
	}
	if talk(a, b) == nil {
		t.Fatal("100% loss lets packets through")
	}
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := talk(b, a); err != nil {
		t.Fatalf("b cannot reach a after heal: %v", err)
	}
}
