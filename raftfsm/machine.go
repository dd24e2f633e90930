package raftfsm

import (
	"fmt"

	"github.com/aisfoundry/ais/meta"
)

// Machine is the metadata state: the published view (cluster map, buckets, config, epoch) and
// the job leases. It is not safe for concurrent use; its owner (the Raft FSM adapter) calls it
// from one goroutine and publishes View behind an atomic pointer.
type Machine struct {
	// view is the published snapshot. It is never changed in place: a command that alters it
	// clones it, changes the clone and installs it with the next epoch.
	view    *meta.Snapshot
	leases  map[string]meta.Lease // by job ID; not part of the published view
	applied uint64                // index of the last applied command
}

// New returns the state of a new cluster: epoch 0, no nodes, no buckets, default config.
func New() *Machine {
	return &Machine{view: meta.NewSnapshot(), leases: map[string]meta.Lease{}}
}

// Result is what one command did. Err is a business failure (wrapping a meta sentinel); the
// state is unchanged when it is set. Epoch is the epoch after the command: the one that holds
// the change, or the current one when nothing changed.
type Result struct {
	Epoch   uint64
	Changed bool // the published view changed (and Epoch is new)
	Err     error
	Node    *meta.Node
	Bucket  *meta.Bucket
	Lease   *meta.Lease
	User    *meta.User
	Key     *meta.AccessKey // with its secret: only the proposer answers with it
}

// View returns the published snapshot. Callers must not change it.
func (m *Machine) View() *meta.Snapshot { return m.view }

// Applied returns the index of the last applied command.
func (m *Machine) Applied() uint64 { return m.applied }

// Lease returns the lease of a job, expired or not.
func (m *Machine) Lease(jobID string) (meta.Lease, bool) {
	l, ok := m.leases[jobID]
	return l, ok
}

// Apply decodes and applies one committed command at its log index. It panics if the command
// cannot be decoded: a member that skipped it would diverge from the others.
func (m *Machine) Apply(index uint64, data []byte) Result {
	c, err := Decode(data)
	if err != nil {
		panic(fmt.Sprintf("raftfsm: apply index %d: %v", index, err))
	}
	return m.ApplyCommand(index, c)
}

// ApplyCommand applies a decoded command at its log index.
func (m *Machine) ApplyCommand(index uint64, c Command) Result {
	if index > m.applied {
		m.applied = index
	}
	var r Result
	switch c.Op {
	case OpNodeJoin:
		r = m.nodeJoin(c)
	case OpNodeState:
		r = m.nodeState(c)
	case OpNodeRemove:
		r = m.nodeRemove(c)
	case OpBucketCreate:
		r = m.bucketCreate(index, c)
	case OpBucketDestroy:
		r = m.bucketDestroy(c)
	case OpBucketProps:
		r = m.bucketProps(c)
	case OpConfigSet:
		r = m.configSet(c)
	case OpConfigInitKey:
		r = m.configInitKey(c)
	case OpLeaseGrant:
		r = m.leaseGrant(index, c)
	case OpLeaseRenew:
		r = m.leaseRenew(c)
	case OpLeaseRelease:
		r = m.leaseRelease(c)
	case OpUserCreate:
		r = m.userCreate(c)
	case OpUserDelete:
		r = m.userDelete(c)
	case OpKeyCreate:
		r = m.keyCreate(c)
	case OpKeyDelete:
		r = m.keyDelete(c)
	default:
		panic(fmt.Sprintf("raftfsm: apply index %d: unknown op %q", index, c.Op))
	}
	r.Epoch = m.view.Epoch
	return r
}

// change clones the view, lets fn change the clone and installs it as the next epoch.
func (m *Machine) change(fn func(s *meta.Snapshot)) {
	next := m.view.Clone()
	fn(next)
	next.Epoch = m.view.Epoch + 1
	m.view = next
}

// failed is a Result carrying a business failure.
func failed(format string, args ...any) Result {
	return Result{Err: fmt.Errorf(format, args...)}
}
