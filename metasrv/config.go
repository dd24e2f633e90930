package metasrv

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/aisfoundry/ais/meta"
)

// Peer is one member of the quorum: its Raft ID, Raft address and HTTP base URL.
type Peer struct {
	ID       string
	RaftAddr string // host:port
	HTTPURL  string // http://host:port
}

// ParsePeers reads "ID=RAFTHOST:PORT@HTTPHOST:PORT,..." (the --peers flag). An HTTP address
// without a scheme gets "http://".
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, rest, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("peer %q: want ID=RAFTHOST:PORT@HTTPHOST:PORT", item)
		}
		raftAddr, httpAddr, ok := strings.Cut(rest, "@")
		if !ok {
			return nil, fmt.Errorf("peer %q: want ID=RAFTHOST:PORT@HTTPHOST:PORT", item)
		}
		if !strings.HasPrefix(httpAddr, "http://") && !strings.HasPrefix(httpAddr, "https://") {
			httpAddr = "http://" + httpAddr
		}
		out = append(out, Peer{ID: id, RaftAddr: raftAddr, HTTPURL: strings.TrimRight(httpAddr, "/")})
	}
	if len(out) == 0 {
		return nil, errors.New("no peers")
	}
	return out, nil
}

// RaftTiming are the Raft timeouts. The defaults suit a LAN or loopback: a dead leader is
// noticed after 0.5-1 s and replaced within about a second more.
type RaftTiming struct {
	HeartbeatTimeout   time.Duration // follower without contact for this long starts an election
	ElectionTimeout    time.Duration // candidate without a result for this long starts another
	LeaderLeaseTimeout time.Duration // leader without quorum contact for this long steps down
	CommitTimeout      time.Duration // longest wait before a heartbeat carries the commit index
	SnapshotInterval   time.Duration // how often to check whether to snapshot
	SnapshotThreshold  uint64        // log entries since the last snapshot that trigger one
	TrailingLogs       uint64        // log entries kept after a snapshot, for slow followers
}

// Config configures one meta member.
type Config struct {
	ID       string // Raft server ID; must be one of Peers
	Dir      string // Raft log, stable store and snapshots
	HTTPAddr string // HTTP listen address; empty: the HTTP address of this member in Peers
	RaftAddr string // Raft bind address; empty: the Raft address of this member in Peers
	Peers    []Peer // all members; the same list on every member bootstraps a new cluster

	// NodeTimeout is the silence after which the leader marks a node down; 0 means the
	// cluster config's node_timeout.
	NodeTimeout time.Duration
	Raft        RaftTiming

	ApplyTimeout time.Duration // longest wait to enqueue a Raft command
	MaxWait      time.Duration // longest epoch long-poll
	MaxBodySize  int64         // largest request body

	// Now is the clock for everything that decides on time (heartbeats, lease expiry).
	Now func() time.Time

	// Transport, if set, replaces the TCP transport (tests use raft's in-memory one); its
	// address must be this member's Raft address in Peers.
	Transport raft.Transport
	// HTTPListener, if set, is served instead of listening on HTTPAddr.
	HTTPListener net.Listener
	// MonitorInterval is how often the leader checks for silent nodes; 0: a tenth of the
	// node timeout, between 50 ms and 1 s.
	MonitorInterval time.Duration
}

// DefaultConfig returns the defaults; ID, Dir and Peers must still be set.
func DefaultConfig() Config {
	return Config{
		Raft: RaftTiming{
			HeartbeatTimeout:   500 * time.Millisecond,
			ElectionTimeout:    500 * time.Millisecond,
			LeaderLeaseTimeout: 250 * time.Millisecond,
			CommitTimeout:      20 * time.Millisecond,
			SnapshotInterval:   60 * time.Second,
			SnapshotThreshold:  4096,
			TrailingLogs:       4096,
		},
		ApplyTimeout: 5 * time.Second,
		MaxWait:      60 * time.Second,
		MaxBodySize:  1 << 20,
		Now:          time.Now,
	}
}

// self returns this member's entry in Peers.
func (c *Config) self() (Peer, bool) {
	for _, p := range c.Peers {
		if p.ID == c.ID {
			return p, true
		}
	}
	return Peer{}, false
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := meta.ValidateNodeID(c.ID); err != nil {
		return fmt.Errorf("metasrv: id: %w", err)
	}
	if c.Dir == "" {
		return errors.New("metasrv: dir is required")
	}
	if len(c.Peers) == 0 {
		return errors.New("metasrv: peers are required")
	}
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, p := range c.Peers {
		if err := meta.ValidateNodeID(p.ID); err != nil {
			return fmt.Errorf("metasrv: peer: %w", err)
		}
		if ids[p.ID] {
			return fmt.Errorf("metasrv: peer %s listed twice", p.ID)
		}
		ids[p.ID] = true
		if p.RaftAddr == "" || addrs[p.RaftAddr] {
			return fmt.Errorf("metasrv: peer %s: raft address %q empty or used twice", p.ID, p.RaftAddr)
		}
		addrs[p.RaftAddr] = true
		u, err := url.Parse(p.HTTPURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("metasrv: peer %s: bad HTTP URL %q", p.ID, p.HTTPURL)
		}
	}
	if _, ok := c.self(); !ok {
		return fmt.Errorf("metasrv: id %s is not among the peers", c.ID)
	}
	if c.NodeTimeout < 0 || c.ApplyTimeout <= 0 || c.MaxWait <= 0 || c.MaxBodySize <= 0 || c.MonitorInterval < 0 {
		return errors.New("metasrv: node timeout, apply timeout, max wait and max body size must be positive")
	}
	if c.Now == nil {
		return errors.New("metasrv: clock (Now) is required")
	}
	if err := raft.ValidateConfig(c.raftConfig()); err != nil {
		return fmt.Errorf("metasrv: raft timing: %w", err)
	}
	return nil
}

// raftConfig builds the Raft configuration (without a logger).
func (c *Config) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	rc.HeartbeatTimeout = c.Raft.HeartbeatTimeout
	rc.ElectionTimeout = c.Raft.ElectionTimeout
	rc.LeaderLeaseTimeout = c.Raft.LeaderLeaseTimeout
	rc.CommitTimeout = c.Raft.CommitTimeout
	rc.SnapshotInterval = c.Raft.SnapshotInterval
	rc.SnapshotThreshold = c.Raft.SnapshotThreshold
	rc.TrailingLogs = c.Raft.TrailingLogs
	return rc
}
