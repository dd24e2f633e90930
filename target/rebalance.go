package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// rebalancer is the target's part in rebalances (docs/rebalance.md). It watches epochs; when
// the set of active targets changes it starts a rebalance job for the new placement (after a
// short delay that lets several changes make one job), superseding a running one. The job
// sends every local object that another target owns now, over the data network, and removes
// the local copy once the owner confirmed it. A marker on the mountpaths lets a restarted
// target resume an interrupted job. While any target's rebalance is not done ("unsettled"), a
// request for an object this target does not hold asks the other targets (neighbor.go).
type rebalancer struct {
	s        *Server
	log      *slog.Logger
	cfg      RebalanceConfig
	peer     *http.Client // target-to-target, with 100-continue for copies
	fence    *jobs.Fence
	limiter  *balancer.Limiter
	tombs    *tombstones
	flight   flights
	deleting keyLocks      // unsettled DELETEs, one per object at a time (neighbor.go)
	gen      atomic.Uint64 // bumped on every placement change
	started  atomic.Bool   // run is running: neighbour lookups are on
	kick     chan struct{}
	// settledFor is the placement ID for which every holder reported its rebalance done; 0:
	// none yet.
	settledFor atomic.Uint64
	// lastSettled is the last placement settled since this target started (0: none yet); it
	// is not reset when the placement changes (settle.go).
	lastSettled atomic.Uint64
	settleKick  chan struct{}
	lease       atomic.Pointer[jobs.Lease]
	// contactAt (Unix ns) and contactEpoch: the last heartbeat meta answered
	// (rebalance_fresh.go).
	contactAt    atomic.Int64
	contactEpoch atomic.Uint64

	mu struct {
		sync.Mutex
		placement  uint64          // placement ID of the latest view
		placeEpoch uint64          // epoch at which that placement was first seen
		changedAt  time.Time       // when it was first seen
		prev       *meta.Placement // placement before it (nil: unknown)
		job        *jobs.Job       // the current or last rebalance job
		jobPlace   uint64          // placement the job works towards
		done       uint64          // placement of the last rebalance finished here
		stopped    uint64          // placement whose rebalance was aborted or failed here
		resume     *rebalanceMarker
		leaving    bool
	}
}

func newRebalancer(s *Server, cfg RebalanceConfig) *rebalancer {
	cfg.fill()
	peer := http.Client{}
	if s.cfg.HTTPClient != nil {
		peer = *s.cfg.HTTPClient
	}
	tr := api.ClusterTransport(s.cfg.HTTPClient, s.cfg.ClusterTCPCongestion, s.warnCongestion)
	tr.ExpectContinueTimeout = api.ExpectContinueTimeout
	peer.Transport = tr
	r := &rebalancer{s: s, log: s.log.With("component", "rebalance"), cfg: cfg, peer: &peer,
		fence: jobs.NewFence(), limiter: balancer.NewLimiter(0, nil), tombs: newTombstones(),
		kick: make(chan struct{}, 1), settleKick: make(chan struct{}, 1)}
	r.flight.m = map[string]*flight{}
	return r
}

func kickChan(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// onNewEpoch runs in the follower's goroutine: it notes a placement change and wakes the loops.
func (r *rebalancer) onNewEpoch(old, cur *api.View) {
	p := balancer.PlacementID(cur.Snap)
	r.limiter.SetRate(cur.Snap.Config.Rebalance.Bandwidth)
	r.mu.Lock()
	if old != nil && cur.Snap.Epoch > old.Snap.Epoch+1 && p == r.mu.placement {
		// Epochs went by unseen (this target was paused, cut off from meta, or the watch
		// skipped a burst): the placement may have changed and come back meanwhile, and other
		// targets may have accepted writes and deletes of objects this one owns. Until every
		// target reports its rebalance done again, look at the neighbours.
		r.mu.placeEpoch = cur.Snap.Epoch
		r.settledFor.Store(0)
	}
	if old == nil || p != r.mu.placement {
		// Settled is for one continuous stretch of a placement: when a placement comes back
		// (a target down, then active again), what was settled for it before is no more.
		r.settledFor.Store(0)
		if old != nil {
			// A placement that comes back (A, B, A within the delay, so that B's job never
			// ran) is not done: objects written under B are not where A wants them.
			r.mu.done = 0
		}
		if r.mu.placement != 0 || old != nil {
			r.log.Info("placement changed", "epoch", cur.Snap.Epoch, "active_targets", cur.Placement.Len())
		}
		r.mu.placement, r.mu.placeEpoch, r.mu.changedAt = p, cur.Snap.Epoch, r.s.clock.Now()
		if old != nil {
			r.mu.prev = old.Placement
		}
		r.gen.Add(1)
	}
	r.mu.Unlock()
	kickChan(r.kick)
	kickChan(r.settleKick)
}

// run is the rebalancer's loop, owned by Server.Run: it starts, supersedes and resumes jobs and
// finishes a decommission.
func (r *rebalancer) run(ctx context.Context) {
	r.loadTombstones()
	r.started.Store(true)
	defer r.started.Store(false)
	if m, ok := r.loadMarker(); ok && m.State == markerRunning && r.leftOnStop() {
		// It stopped in maintenance it set itself (drain.go) and comes back active: the
		// drain that began as it left is not resumed.
		r.log.Info("not resuming the rebalance interrupted by this target's own stop", "job", m.JobID)
		r.mu.Lock()
		r.mu.stopped = m.Placement
		r.mu.Unlock()
	} else if ok && m.State == markerRunning {
		r.log.Info("found an interrupted rebalance; it resumes once the epoch is known", "job", m.JobID)
		r.mu.Lock()
		r.mu.resume = &m
		r.mu.Unlock()
	} else if ok && m.State == markerFinished {
		r.mu.Lock()
		r.mu.done = m.Placement
		r.mu.Unlock()
	} else if ok {
		r.mu.Lock()
		r.mu.stopped = m.Placement
		r.mu.Unlock()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var jobDone <-chan struct{}
		r.mu.Lock()
		// Wait on a job's end only while it runs: a finished job's closed channel would wake
		// this loop forever.
		if r.mu.job != nil && !r.mu.job.Status().State.Done() {
			jobDone = r.mu.job.Done()
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-jobDone:
		case <-timer.C:
		}
		if wait := r.step(ctx); wait > 0 {
			timer.Reset(wait)
		}
	}
}

// step decides what to do now; a positive result asks to be called again after it.
func (r *rebalancer) step(ctx context.Context) time.Duration {
	v := r.s.follower.Current()
	if v == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.mu.placement
	if balancer.PlacementID(v.Snap) != p {
		return 0 // the follower stored a view whose hook has not run yet; it kicks again
	}
	if j := r.mu.job; j != nil && !j.Status().State.Done() {
		if r.mu.jobPlace != p {
			r.log.Info("a newer placement supersedes the running rebalance", "job", j.ID(), "epoch", v.Snap.Epoch)
			j.Abort(jobs.ErrSuperseded)
		}
		return 0 // the job's end wakes the loop
	}
	if r.mu.done == p || (r.mu.stopped == p && r.mu.resume == nil) {
		if r.mu.done == p {
			r.maybeLeave(ctx, v)
		}
		return 0
	}
	if wait := r.mu.changedAt.Add(r.cfg.Delay).Sub(r.s.clock.Now()); wait > 0 {
		return wait
	}
	id := fmt.Sprintf("%s-%d", meta.JobRebalance, r.mu.placeEpoch)
	var seed meta.JobCounters
	var start int64
	if m := r.mu.resume; m != nil {
		r.mu.resume = nil
		if m.Placement == p {
			id, seed, start = m.JobID, m.Counters, m.Start
			r.log.Info("resuming the interrupted rebalance", "job", id)
		}
	}
	if _, err := r.startLocked(id, p, v.Snap.Epoch, seed, start); err != nil {
		r.log.Warn("cannot start a rebalance", "job", id, "err", err)
		return time.Second
	}
	return 0
}

// startLocked starts a rebalance job towards placement p. r.mu is held.
func (r *rebalancer) startLocked(id string, p, epoch uint64, seed meta.JobCounters, start int64) (*jobs.Job, error) {
	prev := r.mu.prev
	j, err := r.s.jobs.Start(meta.JobRebalance, id, epoch, func(ctx context.Context, j *jobs.Job) error {
		j.Seed(seed)
		return r.runJob(ctx, j, p, prev, start)
	})
	if err != nil {
		return nil, err
	}
	r.mu.job, r.mu.jobPlace = j, p
	return j, nil
}

// startByRequest starts a rebalance of the current placement by request (POST /v1/jobs),
// also when the last one finished.
func (r *rebalancer) startByRequest(id string) (*jobs.Job, error) {
	v := r.s.follower.Current()
	if v == nil {
		return nil, fmt.Errorf("target: start %s: %w: no epoch yet", id, meta.ErrUnavailable)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.mu.job; j != nil && !j.Status().State.Done() {
		return nil, fmt.Errorf("target: start %s: %w (%s)", id, meta.ErrJobRunning, j.ID())
	}
	r.mu.done, r.mu.stopped = 0, 0
	return r.startLocked(id, r.mu.placement, v.Snap.Epoch, meta.JobCounters{}, 0)
}

// runJob is the work of one rebalance job.
func (r *rebalancer) runJob(ctx context.Context, j *jobs.Job, p uint64, prev *meta.Placement, start int64) error {
	if start == 0 {
		start = j.Status().Start
	}
	mk := rebalanceMarker{Version: markerV1, JobID: j.ID(), Placement: p, Epoch: j.Status().Epoch,
		State: markerRunning, Start: start}
	r.saveMarker(&mk)
	kickChan(r.settleKick) // peers see "running" at once

	lease, err := jobs.Hold(ctx, metaGranter{r.s.mc}, jobs.LeaseArgs{JobID: j.ID() + "@" + r.s.id,
		Kind: meta.JobRebalance, Holder: r.s.id, Log: r.log})
	if err != nil {
		return r.endJob(ctx, j, &mk, err)
	}
	r.lease.Store(lease)
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		lease.Release(rctx)
		cancel()
	}()

	saveCtx, stopSaving := context.WithCancel(ctx)
	saved := make(chan struct{})
	go func() { // counters survive a crash, roughly
		defer close(saved)
		for {
			select {
			case <-saveCtx.Done():
				return
			case <-r.s.clock.After(5 * time.Second):
				mk.Counters = j.Counters()
				r.saveMarker(&mk)
			}
		}
	}()
	node := &rebalanceNode{r: r, prev: prev}
	err = r.pushTombstones(ctx)
	if err == nil {
		err = balancer.Run(ctx, j, node, balancer.Config{Workers: r.cfg.Workers, Grace: r.cfg.Grace,
			Log: r.log})
	}
	stopSaving()
	<-saved
	return r.endJob(ctx, j, &mk, err)
}

// endJob records how a job ended, in the marker and in memory.
func (r *rebalancer) endJob(ctx context.Context, j *jobs.Job, mk *rebalanceMarker, err error) error {
	cause := context.Cause(ctx)
	mk.Counters = j.Counters()
	switch {
	case err == nil:
		mk.State = markerFinished
	case errors.Is(cause, jobs.ErrShutdown), errors.Is(cause, jobs.ErrSuperseded):
		// Stays "running": the next run (or job) takes over.
	case errors.Is(cause, meta.ErrAborted):
		mk.State = markerAborted
	default:
		mk.State = markerFailed
	}
	r.saveMarker(mk)
	r.mu.Lock()
	switch mk.State {
	case markerFinished:
		r.mu.done = mk.Placement
	case markerAborted, markerFailed:
		r.mu.stopped = mk.Placement
	}
	r.mu.Unlock()
	kickChan(r.kick)
	kickChan(r.settleKick)
	return err
}

// status is this target's answer to GET /v1/internal/rebalance.
func (r *rebalancer) status() api.RebalanceStatus {
	v := r.s.follower.Current()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := api.RebalanceStatus{Node: r.s.id, Placement: r.mu.placement, Done: r.mu.done,
		Settled: r.settledFor.Load() == r.mu.placement && r.mu.placement != 0}
	if v != nil {
		st.Epoch = v.Snap.Epoch
	}
	if j := r.mu.job; j != nil {
		js := j.Status()
		st.Job, st.State, st.Counters = js.ID, js.State, js.Counters
		st.Running = !js.State.Done()
	}
	return st
}

// maybeLeave ends a decommission: once this target, being decommissioned, has moved everything
// away, it removes itself from the cluster map and stops. r.mu is held.
func (r *rebalancer) maybeLeave(ctx context.Context, v *api.View) {
	n, ok := v.Snap.Nodes[r.s.id]
	if !ok || n.State != meta.NodeDecommissioning || r.mu.leaving {
		return
	}
	r.mu.leaving = true
	go func() { // not under r.mu: it talks to meta
		r.s.leaving.Store(true)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := r.s.mc.RemoveNode(cctx, r.s.id)
		cancel()
		if err != nil && !errors.Is(err, meta.ErrNodeNotFound) {
			r.log.Warn("decommissioned, but removing this target from the cluster map failed; retrying", "err", err)
			r.s.leaving.Store(false)
			r.mu.Lock()
			r.mu.leaving = false
			r.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-r.s.clock.After(time.Second):
				kickChan(r.kick)
			}
			return
		}
		r.log.Info("decommissioned: all objects moved away; left the cluster")
		r.s.leaveCluster()
	}()
}
