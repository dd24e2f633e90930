// Command ais-target runs an AIS target: the storage daemon that keeps objects on its
// mountpaths and serves them to clients that gateways send to it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/target"
)

type cli struct {
	ID        string   `help:"Node ID of this target (letters, digits, '-', '_', '.'). Default: the ID kept in <mountpath>/.ais/sys/node-id, or a new one that is then kept there."`
	Meta      []string `required:"" sep:"," placeholder:"URL" help:"HTTP URL of a meta member; repeat the flag or separate with commas."`
	Public    string   `default:"127.0.0.1:9080" placeholder:"HOST:PORT" help:"Address of the public listener (object data for clients, via gateway redirects)."`
	Control   string   `default:"127.0.0.1:9081" placeholder:"HOST:PORT" help:"Address of the control listener (gateways and meta: listings, health)."`
	Data      string   `default:"127.0.0.1:9082" placeholder:"HOST:PORT" help:"Address of the data listener (target-to-target streams)."`
	Mountpath []string `required:"" sep:"none" placeholder:"DIR" help:"Directory on one disk that holds objects (created if missing); repeat for each disk. The file system must keep user extended attributes."`
	LogLevel  string   `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string   `default:"text" enum:"text,json" help:"Log format: text or json."`
}

func main() {
	var c cli
	kong.Parse(&c, kong.Name("ais-target"), kong.Description("AIS target: stores objects on its mountpaths and serves them."))
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ais-target:", err)
		os.Exit(1)
	}
}

func run(c cli) error {
	log, err := newLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	cfg := target.DefaultConfig()
	cfg.ID = c.ID
	cfg.MetaURLs = c.Meta
	cfg.PublicAddr, cfg.ControlAddr, cfg.DataAddr = c.Public, c.Control, c.Data
	for _, mp := range c.Mountpath {
		abs, err := filepath.Abs(mp)
		if err != nil {
			return fmt.Errorf("--mountpath %q: %w", mp, err)
		}
		cfg.Mountpaths = append(cfg.Mountpaths, abs)
	}
	t, err := target.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return t.Run(ctx)
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
