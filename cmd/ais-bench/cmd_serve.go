package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
)

// ServeCmd runs the HTTP ceiling server.
type ServeCmd struct {
	Dir    string `required:"" placeholder:"DIR" help:"Directory of the files (put it on the cluster's mountpath file system)."`
	Listen string `default:"127.0.0.1:0" placeholder:"HOST:PORT" help:"Address to listen on (port 0: any free port, printed on start)."`
}

func (c *ServeCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return err
	}
	// The first line of output is the URL; 'ais-bench matrix' reads it.
	fmt.Printf("http://%s\n", ln.Addr())
	return serveCeiling(ctx, ln, c.Dir, log)
}
