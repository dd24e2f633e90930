package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/gateway"
)

type cli struct {
	ID        string   `help:"Node ID of this gateway (letters, digits, '-', '_', '.'). Default: gw-HOST-PORT from --listen (the machine's host name when the host is empty or a wildcard)."`
	Meta      []string `required:"" sep:"," placeholder:"URL" help:"HTTP URL of a meta member; repeat the flag or separate with commas."`
	Listen    string   `default:"127.0.0.1:8080" placeholder:"HOST:PORT" help:"Address of the public API."`
	PublicURL string   `name:"public-url" placeholder:"URL" help:"URL advertised to the cluster. Default: http:// and the --listen address."`
	Proxy     bool     `help:"Stream object data through the gateway instead of redirecting clients to targets."`
	LogLevel  string   `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string   `default:"text" enum:"text,json" help:"Log format: text or json."`
}

func main() {
	var c cli
	kong.Parse(&c, kong.Name("ais-gw"), kong.Description("AIS gateway: native REST API and routing to targets."))
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ais-gw:", err)
		os.Exit(1)
	}
}

func run(c cli) error {
	log, err := newLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	if c.ID == "" {
		if c.ID, err = defaultID(c.Listen); err != nil {
			return err
		}
	}
	cfg := gateway.DefaultConfig()
	cfg.ID = c.ID
	cfg.MetaURLs = c.Meta
	cfg.Listen = c.Listen
	cfg.PublicURL = c.PublicURL
	cfg.Proxy = c.Proxy
	g, err := gateway.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return g.Run(ctx)
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}

// defaultID derives a node ID from the listen address: gw-HOST-PORT.
func defaultID(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("no --id given and no host name: %w", err)
		}
	}
	id := "gw-" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, host) + "-" + port
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	return id, nil
}
