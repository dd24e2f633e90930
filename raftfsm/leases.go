package raftfsm

import (
	"time"

	"github.com/aisfoundry/ais/meta"
)

// MaxLeaseTTL bounds a lease's time to live.
const MaxLeaseTTL = 24 * time.Hour

func (m *Machine) leaseTTL(a *LeaseArgs) (int64, bool) {
	if a.TTL < 0 || a.TTL > int64(MaxLeaseTTL) {
		return 0, false
	}
	if a.TTL == 0 {
		return int64(m.view.Config.LeaseTTL), true
	}
	return a.TTL, true
}

func checkLeaseArgs(op string, c Command) (*LeaseArgs, Result, bool) {
	a := c.Lease
	if a == nil || a.JobID == "" || a.Holder == "" {
		return nil, failed("raftfsm: %s lease: %w: job_id and holder are required", op, meta.ErrInvalidRequest), false
	}
	return a, Result{}, true
}

// leaseGrant grants a job's lease to a holder. The fencing token is the log index of the
// granting command, so a lease granted again after it expired has a larger token. A holder
// that asks again while it holds the lease gets it extended with the same token.
func (m *Machine) leaseGrant(index uint64, c Command) Result {
	a, r, ok := checkLeaseArgs("grant", c)
	if !ok {
		return r
	}
	ttl, ok := m.leaseTTL(a)
	if !ok {
		return failed("raftfsm: grant lease %s: %w: ttl must be 0 to %s", a.JobID, meta.ErrInvalidRequest, MaxLeaseTTL)
	}
	m.pruneLeases(c.Time)
	if l, held := m.leases[a.JobID]; held {
		if l.Holder != a.Holder {
			return failed("raftfsm: grant lease %s to %s: held by %s: %w", a.JobID, a.Holder, l.Holder, meta.ErrLeaseHeld)
		}
		l.Expires = c.Time + ttl
		m.leases[a.JobID] = l
		return Result{Lease: &l}
	}
	l := meta.Lease{JobID: a.JobID, Kind: a.Kind, Holder: a.Holder, Token: index, Expires: c.Time + ttl}
	m.leases[a.JobID] = l
	return Result{Lease: &l}
}

// leaseRenew extends an unexpired lease for its holder, who must show its token.
func (m *Machine) leaseRenew(c Command) Result {
	a, r, ok := checkLeaseArgs("renew", c)
	if !ok {
		return r
	}
	ttl, ok := m.leaseTTL(a)
	if !ok {
		return failed("raftfsm: renew lease %s: %w: ttl must be 0 to %s", a.JobID, meta.ErrInvalidRequest, MaxLeaseTTL)
	}
	l, held := m.leases[a.JobID]
	switch {
	case !held:
		return failed("raftfsm: renew lease %s: %w", a.JobID, meta.ErrLeaseNotFound)
	case l.Holder != a.Holder:
		return failed("raftfsm: renew lease %s by %s: held by %s: %w", a.JobID, a.Holder, l.Holder, meta.ErrLeaseHeld)
	case l.Token != a.Token:
		return failed("raftfsm: renew lease %s: token %d is not the lease's %d: %w", a.JobID, a.Token, l.Token, meta.ErrStaleToken)
	case l.Expired(c.Time):
		return failed("raftfsm: renew lease %s: expired; grant it again: %w", a.JobID, meta.ErrLeaseNotFound)
	}
	l.Expires = c.Time + ttl
	m.leases[a.JobID] = l
	return Result{Lease: &l}
}

// leaseRelease gives a lease back.
func (m *Machine) leaseRelease(c Command) Result {
	a, r, ok := checkLeaseArgs("release", c)
	if !ok {
		return r
	}
	l, held := m.leases[a.JobID]
	if !held {
		return failed("raftfsm: release lease %s: %w", a.JobID, meta.ErrLeaseNotFound)
	}
	if l.Holder != a.Holder {
		return failed("raftfsm: release lease %s by %s: held by %s: %w", a.JobID, a.Holder, l.Holder, meta.ErrLeaseHeld)
	}
	delete(m.leases, a.JobID)
	return Result{Lease: &l}
}

// pruneLeases forgets leases that have expired at now. Tokens stay monotonic without them:
// a later grant's token is its own, larger, log index.
func (m *Machine) pruneLeases(now int64) {
	for id, l := range m.leases {
		if l.Expired(now) {
			delete(m.leases, id)
		}
	}
}
