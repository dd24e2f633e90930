package metasrv

import (
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// POST /v1/meta/join: register or re-register a gateway or target.
func (s *Server) join(c echo.Context) error {
	var n meta.Node
	if err := s.decode(c, &n); err != nil {
		return err
	}
	if err := n.Validate(); err != nil {
		return fmt.Errorf("metasrv: join: %w", err)
	}
	s.mon.seen(n.ID, s.now())
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpNodeJoin, Node: &n}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, api.JoinResponse{Epoch: r.Epoch, Node: *r.Node})
}

// POST /v1/meta/heartbeat: on the leader, note the node alive; bring it back if it was down.
func (s *Server) heartbeat(c echo.Context) error {
	var hb api.Heartbeat
	if err := s.decode(c, &hb); err != nil {
		return err
	}
	if err := meta.ValidateNodeID(hb.ID); err != nil {
		return fmt.Errorf("metasrv: heartbeat: %w", err)
	}
	n, ok := s.view().Nodes[hb.ID]
	if !ok && !s.mon.ready.Load() {
		// A new leader may not have applied every committed entry yet.
		if err := s.barrier(); err != nil {
			return err
		}
		n, ok = s.view().Nodes[hb.ID]
	}
	if !ok {
		return fmt.Errorf("metasrv: heartbeat from %s: %w; join again", hb.ID, meta.ErrNodeNotFound)
	}
	s.mon.seen(hb.ID, s.now())
	epoch := s.view().Epoch
	if n.State == meta.NodeDown {
		r, err := s.propose(raftfsm.Command{Op: raftfsm.OpNodeState, NodeID: hb.ID, State: meta.NodeActive, From: meta.NodeDown})
		if err != nil {
			return err
		}
		if r.Err != nil && !errors.Is(r.Err, meta.ErrPrecondition) {
			return r.Err
		}
		if r.Changed {
			s.log.Info("node is back", "id", hb.ID, "epoch", r.Epoch)
		}
		epoch = r.Epoch
	}
	return reply(c, epoch, api.HeartbeatResponse{Epoch: epoch})
}

// POST /v1/meta/nodes/{id}/state: move a node to active, maintenance, decommissioning or down.
func (s *Server) setNodeState(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	var req api.NodeStateRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	if req.State == meta.NodeActive {
		s.mon.seen(id, s.now()) // a fresh grace period, not an instant "down"
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpNodeState, NodeID: id, State: req.State}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.Node)
}

// DELETE /v1/meta/nodes/{id}: remove a node from the cluster map.
func (s *Server) removeNode(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpNodeRemove, NodeID: id}))
	if err != nil {
		return err
	}
	s.mon.forget(id)
	return reply(c, r.Epoch, struct{}{})
}
