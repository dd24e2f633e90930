// Command ais-target runs an AIS target: the storage daemon that keeps objects on its
// mountpaths and serves them to clients that gateways send to it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/cmd/internal/daemon"
	"github.com/aisfoundry/ais/target"
)

type cli struct {
	Config      daemon.ConfigFile  `placeholder:"FILE" help:"Read flags from a TOML (.toml) or YAML (.yaml) file whose keys are the flag names (log-level = \"debug\"). Flags on the command line win."`
	PrintConfig daemon.PrintConfig `name:"print-config" help:"Print the effective configuration (flags, config file, defaults) as a config file and exit."`

	ID        string   `help:"Node ID of this target (letters, digits, '-', '_', '.'). Default: the ID kept in <mountpath>/.ais/sys/node-id, or a new one that is then kept there."`
	Meta      []string `required:"" sep:"," placeholder:"URL" help:"HTTP URL of a meta member; repeat the flag or separate with commas."`
	Public    string   `default:"127.0.0.1:9080" placeholder:"HOST:PORT" help:"Address of the public listener (object data for clients, via gateway redirects)."`
	Control   string   `default:"127.0.0.1:9081" placeholder:"HOST:PORT" help:"Address of the control listener (gateways and meta: listings, health; operators: /metrics, /debug/pprof/)."`
	Data      string   `default:"127.0.0.1:9082" placeholder:"HOST:PORT" help:"Address of the data listener (target-to-target streams)."`
	Mountpath []string `required:"" sep:"none" placeholder:"DIR" help:"Directory on one disk that holds objects (created if missing); repeat for each disk. The file system must keep user extended attributes."`

	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"10s" help:"On SIGTERM, the longest the target drains (leaves for maintenance, waits until no request arrives) and then waits for requests in flight to finish."`
	MultipartExpiry time.Duration `name:"multipart-expiry" default:"168h" help:"S3 API: how long a multipart upload may stay incomplete before its parts are removed."`
	LeaveOnStop     bool          `name:"leave-on-stop" default:"true" negatable:"" help:"On SIGTERM, put this target into maintenance first so gateways route new requests elsewhere; it sets itself active again when it is back. --no-leave-on-stop: just stop; meta marks it down after the node timeout."`

	MountpathProbeInterval time.Duration `name:"mountpath-probe-interval" default:"30s" help:"How often every mountpath's disk is probed (write, fsync, read back a small file) to find one that failed while nobody read it; 0: only after an I/O error. A disk that fails the probe is disabled (docs/operations.md, A disk fails)."`
	MountpathProbeTimeout  time.Duration `name:"mountpath-probe-timeout" default:"10s" help:"A mountpath probe that takes longer fails: a hung disk."`

	ClusterTCPCongestion string `name:"cluster-tcp-congestion" default:"cubic" placeholder:"NAME" help:"TCP congestion control of the connections inside the cluster: the data listener's (gateways' proxied requests, other targets' streams) and this target's own to other targets. \"\": the system's default. BBR without the fq queueing discipline paces every burst with a kernel timer, which on fast short links costs more CPU than the transfer (docs/performance.md)."`

	Handoff             bool   `name:"handoff" default:"true" negatable:"" help:"Serve the same-host hand-off: gateways on this machine take the open files of the objects they proxy, over a Unix socket in the abstract namespace, instead of their bytes over TCP (docs/operations.md)."`
	PublicTCPCongestion string `name:"public-tcp-congestion" default:"cubic" placeholder:"NAME" help:"TCP congestion control of the clients' connections to --public, which carry the objects of redirected GETs. \"\": the system's default; bbr (with the fq queueing discipline) for clients across long or lossy links (docs/operations.md)."`

	TestMountpathMiBps int64 `name:"test-mountpath-mibps" env:"AIS_TEST_MOUNTPATH_MIBPS" placeholder:"N" help:"Test mode: cap each mountpath's reads and writes at N MiB/s, standing in for disks of a known speed (docs/performance.md, scale-out). 0: no cap."`

	LogLevel  string `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string `default:"text" enum:"text,json" help:"Log format: text or json."`
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
	log, err := daemon.NewLogger(os.Stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	cfg := target.DefaultConfig()
	cfg.ID = c.ID
	cfg.MetaURLs = c.Meta
	cfg.PublicAddr, cfg.ControlAddr, cfg.DataAddr = c.Public, c.Control, c.Data
	cfg.MountpathBandwidth = c.TestMountpathMiBps << 20
	cfg.ShutdownTimeout = c.ShutdownTimeout
	cfg.LeaveOnStop = c.LeaveOnStop
	cfg.MultipartExpiry = c.MultipartExpiry
	cfg.ClusterTCPCongestion = c.ClusterTCPCongestion
	cfg.PublicTCPCongestion = c.PublicTCPCongestion
	cfg.Handoff = c.Handoff
	cfg.MountpathProbe = target.MountpathProbeConfig{Interval: c.MountpathProbeInterval, Timeout: c.MountpathProbeTimeout}
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
	return daemon.Serve(ctx, log, daemon.NewNotifier(os.Getenv("NOTIFY_SOCKET")),
		daemon.WatchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid()),
		daemon.Service{Run: t.Run, WaitServing: t.WaitServing, Healthy: t.Healthy, Status: "serving as target " + t.ID()})
}
