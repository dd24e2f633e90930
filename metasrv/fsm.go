package metasrv

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// publisher holds the published snapshot behind an atomic pointer and wakes epoch watchers
// by closing a broadcast channel on every new epoch.
type publisher struct {
	view atomic.Pointer[meta.Snapshot]
	mu   struct {
		sync.Mutex
		changed chan struct{} // closed and replaced on every new epoch
	}
}

func newPublisher(s *meta.Snapshot) *publisher {
	p := &publisher{}
	p.view.Store(s)
	p.mu.changed = make(chan struct{})
	return p
}

// current returns the published snapshot.
func (p *publisher) current() *meta.Snapshot { return p.view.Load() }

// watch returns the channel that closes on the next new epoch, and the snapshot it follows.
func (p *publisher) watch() (<-chan struct{}, *meta.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.changed, p.view.Load()
}

// publish installs s if it is newer than the published snapshot.
func (p *publisher) publish(s *meta.Snapshot) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.view.Load(); old == s || s.Epoch <= old.Epoch {
		return false
	}
	p.view.Store(s)
	close(p.mu.changed)
	p.mu.changed = make(chan struct{})
	return true
}

// fsm adapts raftfsm.Machine to raft.FSM. Raft calls it from its FSM goroutine; mu also
// guards the machine against the snapshot persister.
type fsm struct {
	log *slog.Logger
	pub *publisher
	mu  struct {
		sync.Mutex
		m *raftfsm.Machine
	}
}

var _ raft.FSM = (*fsm)(nil)

func newFSM(log *slog.Logger) *fsm {
	f := &fsm{log: log}
	f.mu.m = raftfsm.New()
	f.pub = newPublisher(f.mu.m.View())
	return f
}

// Apply applies a committed log entry and returns a raftfsm.Result.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	f.mu.Lock()
	r := f.mu.m.Apply(l.Index, l.Data)
	v := f.mu.m.View()
	f.mu.Unlock()
	if r.Changed {
		f.pub.publish(v)
	}
	return r
}

// Snapshot captures the state; raft persists it later, off the FSM goroutine.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	data := f.mu.m.EncodeSnapshot()
	f.mu.Unlock()
	return fsmSnapshot(data), nil
}

// Restore replaces the state with a snapshot.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("metasrv: read snapshot: %w", err)
	}
	m, err := raftfsm.Restore(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.mu.m = m
	f.mu.Unlock()
	f.pub.publish(m.View())
	f.log.Info("restored snapshot", "epoch", m.View().Epoch, "applied", m.Applied())
	return nil
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("metasrv: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s fsmSnapshot) Release() {}
