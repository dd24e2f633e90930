package gateway

import (
	"context"
	"net"
	"testing"

	"github.com/aisfoundry/ais/api"
)

// TestPublicCongestion checks that the public listener's accepted connections get
// Config.PublicTCPCongestion (Reno: built into every Linux kernel, allowed to every user).
func TestPublicCongestion(t *testing.T) {
	g := newTestGateway(t, nil, false)
	g.cfg.Listen, g.cfg.PublicTCPCongestion = "127.0.0.1:0", "reno"
	ln, err := g.listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	got, err := api.ConnCongestion(a.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	if got != "reno" {
		t.Fatalf("accepted connection uses %q, want reno", got)
	}
}
