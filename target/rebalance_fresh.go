package target

import (
	"fmt"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// A target's view of the cluster map is only as fresh as its last contact with meta. Meta
// marks a target down once it has been silent for node_timeout and gives its objects to other
// owners in a new epoch; a target that was paused (SIGSTOP), or cut off from meta, does not
// know that and would go on serving and accepting writes as the owner at its old epoch: stale
// reads, and writes that race the new owner's. So a target whose last heartbeat answered by
// meta was sent more than staleBound ago, or that has not yet caught up to the epoch meta named
// in that answer, refuses data requests with 503 StaleView (retryable: clients and gateways
// retry, and by then either this target has caught up or meta has routed the object
// elsewhere). The bound is below node_timeout: the target stops before meta can mark it down.
// Gateways' signed URLs and clients' cached redirects do not widen this window: every data
// request passes this check at the target (docs/rebalance.md, "Staleness bound").

// staleBound is how long after the last heartbeat meta answered a target still serves data:
// 3/4 of node_timeout (the heartbeat interval is at most half of it).
func staleBound(nodeTimeout time.Duration) time.Duration {
	if nodeTimeout <= 0 {
		nodeTimeout = 10 * time.Second
	}
	return nodeTimeout * 3 / 4
}

// metaContacted records a heartbeat (or join) that meta answered: sent is when it was sent
// (meta heard from this target no earlier), epoch the epoch meta named.
func (s *Server) metaContacted(sent time.Time, epoch uint64) {
	s.reb.contactAt.Store(sent.UnixNano())
	s.reb.contactEpoch.Store(epoch)
}

// checkFresh returns meta.ErrStaleView when this target's view may be stale. A target that
// has not contacted meta yet (unit tests of the data path) is not checked.
func (s *Server) checkFresh() error {
	at := s.reb.contactAt.Load()
	if at == 0 {
		return nil
	}
	v := s.follower.Current()
	if v == nil {
		return nil
	}
	bound := staleBound(v.Snap.Config.NodeTimeout.D())
	if age := s.clock.Now().Sub(time.Unix(0, at)); age > bound {
		return fmt.Errorf("%w: target %s has not heard from meta for %s (bound %s): its cluster map may be stale; retry",
			meta.ErrStaleView, s.id, age.Round(time.Millisecond), bound)
	}
	if e := s.reb.contactEpoch.Load(); v.Snap.Epoch < e {
		s.follower.Refresh()
		return fmt.Errorf("%w: target %s is at epoch %d, behind epoch %d that meta named; retry",
			meta.ErrStaleView, s.id, v.Snap.Epoch, e)
	}
	return nil
}
