package target

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// rebalanceMarkerFile records, on every mountpath, the last rebalance this target ran and how
// it ended, so that a restarted target resumes an interrupted one and knows a finished one.
//
// Versions: 1 (2026-11): JSON of rebalanceMarker.
const (
	rebalanceMarkerFile = sysDir + "/rebalance.json"
	markerV1            = 1
)

// Marker states.
const (
	markerRunning  = "running" // interrupted if found at start: resume
	markerFinished = "finished"
	markerAborted  = "aborted"
	markerFailed   = "failed"
)

type rebalanceMarker struct {
	Version   int              `json:"v"`
	JobID     string           `json:"job_id"`
	Placement uint64           `json:"placement"`
	Epoch     uint64           `json:"epoch"`
	State     string           `json:"state"`
	Start     int64            `json:"start"`
	Counters  meta.JobCounters `json:"counters"`
}

// saveMarker writes the marker to every mountpath (a failure is logged: the marker only helps a
// restart).
func (r *rebalancer) saveMarker(m *rebalanceMarker) {
	raw, _ := json.Marshal(m)
	for _, mp := range r.s.store.Mountpaths() {
		if err := writeFileAtomic(r.s.store.fs, mp+"/"+rebalanceMarkerFile, raw); err != nil {
			r.log.Warn("cannot write the rebalance marker", "mountpath", mp, "err", err)
		}
	}
}

// loadMarker reads the marker of the first mountpath that has a valid one.
func (r *rebalancer) loadMarker() (rebalanceMarker, bool) {
	for _, mp := range r.s.store.Mountpaths() {
		raw, err := readSmallFile(r.s.store.fs, mp+"/"+rebalanceMarkerFile)
		if err != nil {
			continue
		}
		var m rebalanceMarker
		if json.Unmarshal([]byte(raw), &m) == nil && m.Version == markerV1 && m.JobID != "" {
			return m, true
		}
	}
	return rebalanceMarker{}, false
}

// leftOnStop reports whether the target put itself into maintenance when it last stopped
// (drain.go's marker).
func (r *rebalancer) leftOnStop() bool {
	for _, mp := range r.s.store.Mountpaths() {
		if _, err := r.s.store.fs.Stat(mp + "/" + sysDir + "/" + leftMarker); err == nil {
			return true
		}
	}
	return false
}

// metaGranter asks meta for job leases.
type metaGranter struct{ mc *api.MetaClient }

func (g metaGranter) GrantLease(ctx context.Context, job, kind, holder string, ttl time.Duration) (meta.Lease, error) {
	l, err := g.mc.GrantLease(ctx, api.LeaseRequest{JobID: job, Kind: kind, Holder: holder, TTL: meta.Duration(ttl)})
	if err != nil {
		return meta.Lease{}, err
	}
	return *l, nil
}

func (g metaGranter) RenewLease(ctx context.Context, l meta.Lease, ttl time.Duration) (meta.Lease, error) {
	n, err := g.mc.RenewLease(ctx, api.LeaseRequest{JobID: l.JobID, Kind: l.Kind, Holder: l.Holder,
		Token: l.Token, TTL: meta.Duration(ttl)})
	if err != nil {
		return meta.Lease{}, err
	}
	return *n, nil
}

func (g metaGranter) ReleaseLease(ctx context.Context, job, holder string) error {
	return g.mc.ReleaseLease(ctx, job, holder)
}
