package metasrv

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// POST /v1/meta/leases: grant a job's lease (409 LeaseHeld while another holder has it).
func (s *Server) grantLease(c echo.Context) error {
	var req api.LeaseRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpLeaseGrant, Lease: &raftfsm.LeaseArgs{
		JobID: req.JobID, Kind: req.Kind, Holder: req.Holder, TTL: int64(req.TTL)}}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.Lease)
}

// POST /v1/meta/leases/{job}/renew: extend a held lease; the body carries the token.
func (s *Server) renewLease(c echo.Context) error {
	job, err := param(c, "job")
	if err != nil {
		return err
	}
	var req api.LeaseRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	if req.JobID != "" && req.JobID != job {
		return fmt.Errorf("%w: job_id %q in the body is not %q of the path", meta.ErrInvalidRequest, req.JobID, job)
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpLeaseRenew, Lease: &raftfsm.LeaseArgs{
		JobID: job, Holder: req.Holder, Token: req.Token, TTL: int64(req.TTL)}}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.Lease)
}

// DELETE /v1/meta/leases/{job}?holder=ID: give a lease back.
func (s *Server) releaseLease(c echo.Context) error {
	job, err := param(c, "job")
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpLeaseRelease, Lease: &raftfsm.LeaseArgs{
		JobID: job, Holder: c.QueryParam("holder")}}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, struct{}{})
}
