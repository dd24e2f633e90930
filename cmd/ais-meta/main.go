// Command ais-meta runs one member of the metadata quorum: a Raft replica of the cluster map,
// bucket metadata, cluster config and job leases, with its control HTTP API.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/metasrv"
)

type cli struct {
	ID    string `required:"" help:"Raft server ID of this member; must appear in --peers."`
	Dir   string `required:"" placeholder:"DIR" help:"Directory of the Raft log, stable store and snapshots. A new cluster is bootstrapped only if it holds no state; restarting with the same directory rejoins with it."`
	HTTP  string `name:"http" placeholder:"HOST:PORT" help:"HTTP API listen address. Default: this member's HTTP address in --peers."`
	Raft  string `name:"raft" placeholder:"HOST:PORT" help:"Raft bind address. Default: this member's Raft address in --peers (which is also what other members dial)."`
	Peers string `required:"" placeholder:"ID=RAFTHOST:PORT@HTTPHOST:PORT,..." help:"Every member of the quorum, this one included. Use the same list on every member."`

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

func main() {
	var c cli
	kong.Parse(&c, kong.Name("ais-meta"),
		kong.Description("AIS metadata quorum member (Raft): cluster map, buckets, cluster config, job leases."))
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ais-meta:", err)
		os.Exit(1)
	}
}

func run(c cli) error {
	log, err := newLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	peers, err := metasrv.ParsePeers(c.Peers)
	if err != nil {
		return fmt.Errorf("--peers: %w", err)
	}
	cfg := metasrv.DefaultConfig()
	cfg.ID, cfg.Dir, cfg.HTTPAddr, cfg.RaftAddr, cfg.Peers = c.ID, c.Dir, c.HTTP, c.Raft, peers
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
	return s.Run(ctx)
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
