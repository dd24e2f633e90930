package metasrv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/raft"
	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// GET /v1/health.
func (s *Server) health(c echo.Context) error {
	v := s.view()
	return reply(c, v.Epoch, api.Health{Status: "ok", Node: s.cfg.ID, Role: "meta", Epoch: v.Epoch})
}

// GET /v1/cluster: the quorum as this member sees it, and the cluster map.
func (s *Server) cluster(c echo.Context) error {
	v := s.view()
	_, leader := s.raft.LeaderWithID()
	info := api.ClusterInfo{
		Epoch:        v.Epoch,
		Leader:       string(leader),
		Term:         s.raft.CurrentTerm(),
		CommitIndex:  s.raft.CommitIndex(),
		AppliedIndex: s.raft.AppliedIndex(),
		Meta:         []api.MetaMember{},
		Nodes:        []meta.Node{},
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raftError("configuration", err)
	}
	for _, srv := range f.Configuration().Servers {
		info.Meta = append(info.Meta, api.MetaMember{
			ID:       string(srv.ID),
			RaftAddr: string(srv.Address),
			HTTPURL:  s.peers[srv.ID].HTTPURL,
			Leader:   srv.ID == leader,
			Voter:    srv.Suffrage == raft.Voter,
		})
	}
	sort.Slice(info.Meta, func(i, j int) bool { return info.Meta[i].ID < info.Meta[j].ID })
	for _, n := range v.Nodes {
		info.Nodes = append(info.Nodes, n)
	}
	sort.Slice(info.Nodes, func(i, j int) bool { return info.Nodes[i].ID < info.Nodes[j].ID })
	return reply(c, v.Epoch, info)
}

// GET /v1/meta/config: the cluster config without the signing key.
func (s *Server) config(c echo.Context) error {
	v := s.view()
	cfg := v.Config
	cfg.SigningKey = ""
	return reply(c, v.Epoch, cfg)
}

// PATCH /v1/meta/config: apply a merge document to the cluster config. The signing key is
// the cluster's own and cannot be set this way.
func (s *Server) patchConfig(c echo.Context) error {
	doc, err := s.mergeDoc(c)
	if err != nil {
		return err
	}
	if len(doc) == 0 {
		return s.config(c)
	}
	var keys map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(doc)).Decode(&keys); err == nil {
		if _, ok := keys["signing_key"]; ok {
			return fmt.Errorf("metasrv: set config: %w: signing_key is chosen by the cluster", meta.ErrInvalidConfig)
		}
	}
	if _, err := s.view().Config.Patch(doc); err != nil {
		return fmt.Errorf("metasrv: set config: %w", err)
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpConfigSet, Patch: doc}))
	if err != nil {
		return err
	}
	cfg := s.view().Config
	cfg.SigningKey = ""
	return reply(c, r.Epoch, cfg)
}
