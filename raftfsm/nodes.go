package raftfsm

import (
	"fmt"
	"slices"

	"github.com/aisfoundry/ais/meta"
)

// nodeJoin adds a node as active, or updates a known node's addresses and mountpaths and
// brings it back from down. Nothing changes (and no epoch passes) if the node is as it was.
func (m *Machine) nodeJoin(c Command) Result {
	if c.Node == nil {
		return failed("raftfsm: join: %w: no node", meta.ErrInvalidNode)
	}
	n := c.Node.Clone()
	if err := n.Validate(); err != nil {
		return failed("raftfsm: join: %w", err)
	}
	old, known := m.view.Nodes[n.ID]
	if !known {
		n.State = meta.NodeActive
	} else {
		n.State = old.State
		if n.State == meta.NodeDown || n.State == meta.NodeJoining {
			n.State = meta.NodeActive
		}
	}
	if known && sameNode(old, n) {
		return Result{Node: &old}
	}
	m.change(func(s *meta.Snapshot) { s.Nodes[n.ID] = n })
	out := n.Clone()
	return Result{Changed: true, Node: &out}
}

func sameNode(a, b meta.Node) bool {
	return a.ID == b.ID && a.Role == b.Role && a.PublicURL == b.PublicURL &&
		a.ControlURL == b.ControlURL && a.DataURL == b.DataURL && a.State == b.State &&
		a.Weight == b.Weight && a.Capacity == b.Capacity && a.Used == b.Used &&
		a.BootID == b.BootID && a.Handoff == b.Handoff && slices.Equal(a.Mountpaths, b.Mountpaths)
}

// settableState reports whether a node may be moved to st by a command (joining is only a
// node's state before its first join completes, so it is never set).
func settableState(st meta.NodeState) bool {
	switch st {
	case meta.NodeActive, meta.NodeMaintenance, meta.NodeDecommissioning, meta.NodeDown:
		return true
	}
	return false
}

// nodeState moves a node to a new state; with From set, only if it is in From.
func (m *Machine) nodeState(c Command) Result {
	if !settableState(c.State) {
		return failed("raftfsm: node %s: %w: state %q: use active, maintenance, decommissioning or down",
			c.NodeID, meta.ErrInvalidRequest, c.State)
	}
	n, ok := m.view.Nodes[c.NodeID]
	if !ok {
		return failed("raftfsm: node %s: %w", c.NodeID, meta.ErrNodeNotFound)
	}
	if c.From != "" && n.State != c.From {
		return Result{Node: &n, Err: fmt.Errorf("raftfsm: node %s is %s, not %s: %w", c.NodeID, n.State, c.From, meta.ErrPrecondition)}
	}
	if n.State == c.State {
		return Result{Node: &n}
	}
	n = n.Clone()
	n.State = c.State
	m.change(func(s *meta.Snapshot) { s.Nodes[n.ID] = n })
	out := n.Clone()
	return Result{Changed: true, Node: &out}
}

// nodeRemove deletes a node from the cluster map.
func (m *Machine) nodeRemove(c Command) Result {
	n, ok := m.view.Nodes[c.NodeID]
	if !ok {
		return failed("raftfsm: remove node %s: %w", c.NodeID, meta.ErrNodeNotFound)
	}
	m.change(func(s *meta.Snapshot) { delete(s.Nodes, c.NodeID) })
	return Result{Changed: true, Node: &n}
}
