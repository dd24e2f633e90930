package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aisfoundry/ais/cmd/internal/daemon"
	"github.com/aisfoundry/ais/metasrv"
)

// memberFlags are the flags that name a member and its quorum, shared by run and restore.
type memberFlags struct {
	ID    string `required:"" help:"Raft server ID of this member; must appear in --peers."`
	Dir   string `required:"" placeholder:"DIR" help:"Directory of the Raft log, stable store and snapshots. A new cluster is bootstrapped only if it holds no state; restarting with the same directory rejoins with it."`
	Peers string `required:"" placeholder:"ID=RAFTHOST:PORT@HTTPHOST:PORT,..." help:"Every member of the quorum, this one included. Use the same list on every member."`
}

func (m memberFlags) config() (metasrv.Config, error) {
	peers, err := metasrv.ParsePeers(m.Peers)
	if err != nil {
		return metasrv.Config{}, fmt.Errorf("--peers: %w", err)
	}
	cfg := metasrv.DefaultConfig()
	cfg.ID, cfg.Dir, cfg.Peers = m.ID, m.Dir, peers
	return cfg, nil
}

type runCmd struct {
	Config      daemon.ConfigFile  `placeholder:"FILE" help:"Read flags from a TOML (.toml) or YAML (.yaml) file whose keys are the flag names (log-level = \"debug\"). Flags on the command line win."`
	PrintConfig daemon.PrintConfig `name:"print-config" help:"Print the effective configuration (flags, config file, defaults) as a config file and exit."`

	memberFlags `embed:""`
	HTTP        string `name:"http" placeholder:"HOST:PORT" help:"HTTP API listen address (also /metrics and /debug/pprof/). Default: this member's HTTP address in --peers."`
	Raft        string `name:"raft" placeholder:"HOST:PORT" help:"Raft bind address. Default: this member's Raft address in --peers (which is also what other members dial)."`

	NodeTimeout time.Duration `name:"node-timeout" default:"0s" help:"Silence after which the leader marks a gateway or target down. 0 uses the cluster config's node_timeout (10s unless changed)."`

	RaftHeartbeatTimeout   time.Duration `name:"raft-heartbeat-timeout" default:"500ms" help:"A follower that hears nothing from the leader for this long (randomized up to 2x) starts an election."`
	RaftElectionTimeout    time.Duration `name:"raft-election-timeout" default:"500ms" help:"A candidate that wins no election in this long (randomized up to 2x) starts another; at least --raft-heartbeat-timeout."`
	RaftLeaderLeaseTimeout time.Duration `name:"raft-leader-lease-timeout" default:"250ms" help:"A leader that cannot reach a quorum for this long steps down; at most --raft-heartbeat-timeout."`
	RaftCommitTimeout      time.Duration `name:"raft-commit-timeout" default:"20ms" help:"Longest delay before followers learn the commit index without new entries."`
	SnapshotInterval       time.Duration `name:"snapshot-interval" default:"60s" help:"How often to check whether to take a Raft snapshot."`
	SnapshotThreshold      uint64        `name:"snapshot-threshold" default:"4096" help:"Log entries since the last snapshot that trigger a new one."`

	LogLevel  string `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string `default:"text" enum:"text,json" help:"Log format: text or json."`
}

func (c *runCmd) Run() error {
	log, err := daemon.NewLogger(os.Stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cfg.HTTPAddr, cfg.RaftAddr = c.HTTP, c.Raft
	cfg.NodeTimeout = c.NodeTimeout
	cfg.Raft.HeartbeatTimeout = c.RaftHeartbeatTimeout
	cfg.Raft.ElectionTimeout = c.RaftElectionTimeout
	cfg.Raft.LeaderLeaseTimeout = c.RaftLeaderLeaseTimeout
	cfg.Raft.CommitTimeout = c.RaftCommitTimeout
	cfg.Raft.SnapshotInterval = c.SnapshotInterval
	cfg.Raft.SnapshotThreshold = c.SnapshotThreshold
	s, err := metasrv.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return daemon.Serve(ctx, log, daemon.NewNotifier(os.Getenv("NOTIFY_SOCKET")),
		daemon.WatchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid()),
		daemon.Service{Run: s.Run, WaitServing: s.WaitServing,
			Healthy: func(ctx context.Context) bool { return s.WaitServing(ctx) == nil },
			Status:  "serving as meta member " + c.ID})
}
