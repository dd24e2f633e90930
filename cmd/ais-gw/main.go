package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/cmd/internal/daemon"
	"github.com/aisfoundry/ais/gateway"
)

type cli struct {
	Config      daemon.ConfigFile  `placeholder:"FILE" help:"Read flags from a TOML (.toml) or YAML (.yaml) file whose keys are the flag names (log-level = \"debug\"). Flags on the command line win."`
	PrintConfig daemon.PrintConfig `name:"print-config" help:"Print the effective configuration (flags, config file, defaults) as a config file and exit."`

	ID        string   `help:"Node ID of this gateway (letters, digits, '-', '_', '.'). Default: gw-HOST-PORT from --listen (the machine's host name when the host is empty or a wildcard)."`
	Meta      []string `required:"" sep:"," placeholder:"URL" help:"HTTP URL of a meta member; repeat the flag or separate with commas."`
	Listen    string   `default:"127.0.0.1:8080" placeholder:"HOST:PORT" help:"Address of the public API (also serves /metrics)."`
	PublicURL string   `name:"public-url" placeholder:"URL" help:"URL advertised to the cluster. Default: http:// and the --listen address."`
	Control   string   `placeholder:"HOST:PORT" help:"Address of an operators' listener with /v1/health, /metrics and /debug/pprof/. Default: none (pprof is never served on the public port)."`
	Proxy     bool     `help:"Stream object data through the gateway instead of redirecting clients to targets."`

	ClusterTCPCongestion string `name:"cluster-tcp-congestion" default:"cubic" placeholder:"NAME" help:"TCP congestion control of the gateway's connections to targets (proxied requests, sent to the targets' data listeners). \"\": the system's default (docs/performance.md)."`

	PublicTCPCongestion string `name:"public-tcp-congestion" default:"cubic" placeholder:"NAME" help:"TCP congestion control of the clients' connections to --listen, which carry the objects of proxied GETs. \"\": the system's default; bbr (with the fq queueing discipline) for clients across long or lossy links (docs/operations.md)."`

	Handoff       bool `name:"handoff" default:"true" negatable:"" help:"Send proxied GETs for targets on this machine over their same-host hand-off socket: the gateway sends the object from the target's open file (sendfile) instead of receiving it over TCP (docs/operations.md)."`
	ProxyToPublic bool `name:"proxy-to-public" help:"Send proxied requests (--proxy, S3) to the targets' public listeners instead of their data listeners: for gateways that cannot reach the targets' data network."`

	S3Redirect bool   `name:"s3-redirect" help:"S3 API: answer GetObject and HeadObject with 307 to the owning target (for clients that follow redirects) instead of streaming through the gateway."`
	S3Domain   string `name:"s3-domain" placeholder:"DOMAIN" help:"S3 API: serve virtual-host style requests to BUCKET.s3.DOMAIN (path style always works)."`
	S3Region   string `name:"s3-region" default:"us-east-1" help:"S3 API: the region reported to clients and accepted in CreateBucket."`

	DrainWait       time.Duration `name:"drain-wait" default:"0s" help:"On SIGTERM, how long to keep serving with /v1/health answering 503 (so a load balancer takes the gateway out) before the server stops. Set it to the load balancer's health check interval times its failure threshold."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"10s" help:"After the drain, the longest wait for requests in flight to finish."`

	LogLevel  string `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string `default:"text" enum:"text,json" help:"Log format: text or json."`
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
	log, err := daemon.NewLogger(os.Stderr, c.LogLevel, c.LogFormat)
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
	cfg.ControlListen = c.Control
	cfg.Proxy = c.Proxy
	cfg.ClusterTCPCongestion = c.ClusterTCPCongestion
	cfg.PublicTCPCongestion = c.PublicTCPCongestion
	cfg.ProxyToPublic = c.ProxyToPublic
	cfg.Handoff = c.Handoff
	cfg.S3.Redirect, cfg.S3.Domain, cfg.S3.Region = c.S3Redirect, c.S3Domain, c.S3Region
	cfg.DrainWait = c.DrainWait
	cfg.ShutdownTimeout = c.ShutdownTimeout
	g, err := gateway.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return daemon.Serve(ctx, log, daemon.NewNotifier(os.Getenv("NOTIFY_SOCKET")),
		daemon.WatchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid()),
		daemon.Service{Run: g.Run, WaitServing: g.WaitServing, Healthy: g.Healthy, Status: "serving as gateway " + c.ID})
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
