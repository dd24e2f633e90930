package metasrv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// monitor keeps the leader's memory of when each node was last heard from. It is not
// replicated: a new leader starts every node with a fresh grace period.
type monitor struct {
	ready atomic.Bool // this member leads and has applied everything committed before
	mu    struct {
		sync.Mutex
		lastSeen map[string]time.Time
	}
}

func newMonitor() *monitor {
	m := &monitor{}
	m.mu.lastSeen = map[string]time.Time{}
	return m
}

func (m *monitor) seen(id string, now time.Time) {
	m.mu.Lock()
	m.mu.lastSeen[id] = now
	m.mu.Unlock()
}

func (m *monitor) forget(id string) {
	m.mu.Lock()
	delete(m.mu.lastSeen, id)
	m.mu.Unlock()
}

// reset gives every node a fresh grace period, starting when a check first meets it.
func (m *monitor) reset() {
	m.mu.Lock()
	clear(m.mu.lastSeen)
	m.mu.Unlock()
}

// silent returns the active nodes of v not heard from for longer than timeout at now. A node
// met for the first time starts its grace period now.
func (m *monitor) silent(v *meta.Snapshot, now time.Time, timeout time.Duration) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id, n := range v.Nodes {
		last, ok := m.mu.lastSeen[id]
		if !ok {
			m.mu.lastSeen[id] = now
			continue
		}
		if n.State == meta.NodeActive && now.Sub(last) > timeout {
			out = append(out, id)
		}
	}
	return out
}

// nodeTimeout is the silence after which a node is marked down.
func (s *Server) nodeTimeout() time.Duration {
	if s.cfg.NodeTimeout > 0 {
		return s.cfg.NodeTimeout
	}
	return s.view().Config.NodeTimeout.D()
}

func (s *Server) monitorInterval() time.Duration {
	if s.cfg.MonitorInterval > 0 {
		return s.cfg.MonitorInterval
	}
	return min(max(s.nodeTimeout()/10, 50*time.Millisecond), time.Second)
}

// watchLeadership runs the leader's duties (lead) while this member leads, until ctx ends.
func (s *Server) watchLeadership(ctx context.Context) {
	var cur *leaderRun
	defer func() { cur.end() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.raft.LeaderCh():
		}
		cur.end()
		cur = nil
		if s.raft.State() == raft.Leader {
			cur = s.startLeading(ctx)
		}
	}
}

// leaderRun is one term's run of lead, owned by watchLeadership.
type leaderRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Server) startLeading(ctx context.Context) *leaderRun {
	lctx, cancel := context.WithCancel(ctx)
	l := &leaderRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		s.lead(lctx)
	}()
	return l
}

// end stops the run and waits for it.
func (l *leaderRun) end() {
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
}

// lead is the leader's loop: catch up, give every node a grace period, make sure the cluster
// has a signing key, then mark silent nodes down until leadership ends.
func (s *Server) lead(ctx context.Context) {
	s.log.Info("leading", "term", s.raft.CurrentTerm())
	defer s.mon.ready.Store(false)
	for s.barrier() != nil {
		if s.raft.State() != raft.Leader || sleep(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
	s.mon.reset()
	s.mon.ready.Store(true)
	for {
		if s.raft.State() != raft.Leader {
			return
		}
		s.ensureSigningKey()
		s.checkNodes(s.now())
		if sleep(ctx, s.monitorInterval()) != nil {
			return
		}
	}
}

// ensureSigningKey proposes a random signing key if the cluster has none. The randomness is
// drawn here, by the proposer, and carried in the command.
func (s *Server) ensureSigningKey() {
	if s.view().Config.SigningKey != "" {
		return
	}
	var key [raftfsm.SigningKeyLen / 2]byte
	if _, err := rand.Read(key[:]); err != nil {
		s.log.Error("signing key: no randomness", "err", err)
		return
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpConfigInitKey, Key: hex.EncodeToString(key[:])}))
	if err != nil {
		s.log.Warn("signing key: proposal failed", "err", err)
		return
	}
	if r.Changed {
		s.log.Info("set the cluster's signing key", "epoch", r.Epoch)
	}
}

// checkNodes marks down every active node silent for longer than the node timeout, each as
// its own epoch.
func (s *Server) checkNodes(now time.Time) {
	for _, id := range s.mon.silent(s.view(), now, s.nodeTimeout()) {
		r, err := s.propose(raftfsm.Command{Op: raftfsm.OpNodeState, NodeID: id, State: meta.NodeDown, From: meta.NodeActive})
		switch {
		case err != nil:
			s.log.Warn("mark node down: proposal failed", "id", id, "err", err)
			return
		case r.Err != nil && !errors.Is(r.Err, meta.ErrPrecondition):
			s.log.Warn("mark node down", "id", id, "err", r.Err)
		case r.Changed:
			s.log.Warn("node is silent; marked down", "id", id, "timeout", s.nodeTimeout(), "epoch", r.Epoch)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
