package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/aisfoundry/ais/api"
)

// ServeCmd runs the HTTP ceiling server.
type ServeCmd struct {
	Dir    string `required:"" placeholder:"DIR" help:"Directory of the files (put it on the cluster's mountpath file system)."`
	Listen string `default:"127.0.0.1:0" placeholder:"HOST:PORT" help:"Address to listen on (port 0: any free port, printed on start)."`
	// The ceiling's sockets send the GETs' bytes as a target's public listener does: the same
	// congestion control (ais-target --public-tcp-congestion), or the comparison is unfair.
	TCPCongestion string `name:"tcp-congestion" default:"cubic" placeholder:"NAME" help:"TCP congestion control of the connections accepted, as the cluster's public listeners use (ais-target --public-tcp-congestion); \"\": the system's default."`
}

func (c *ServeCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	lc := net.ListenConfig{Control: api.TCPCongestion(c.TCPCongestion, func(err error) {
		log.Warn("the ceiling's connections keep the system's congestion control", "flag", "--tcp-congestion", "err", err)
	})}
	ln, err := lc.Listen(ctx, "tcp", c.Listen)
	if err != nil {
		return err
	}
	// The first line of output is the URL; 'ais-bench matrix' reads it.
	fmt.Printf("http://%s\n", ln.Addr())
	return serveCeiling(ctx, ln, c.Dir, log)
}
