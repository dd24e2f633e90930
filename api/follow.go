package api

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// View is one published epoch as a node holds it: the snapshot and the placement over its
// active targets, computed once.
type View struct {
	Snap      *meta.Snapshot
	Placement *meta.Placement
}

// NewView computes the placement of a snapshot.
func NewView(s *meta.Snapshot) *View {
	return &View{Snap: s, Placement: meta.NewPlacement(s.ActiveTargets())}
}

// Follower keeps the latest published epoch of the meta quorum, long-polling any member. Its
// owner runs Run in one goroutine; everything else reads Current or waits with WaitEpoch.
type Follower struct {
	mc   *MetaClient
	log  *slog.Logger
	wait time.Duration
	cur  atomic.Pointer[View]

	mu struct {
		sync.Mutex
		changed chan struct{} // closed and replaced on every new epoch
		onNew   []func(old, cur *View)
	}
	kick chan struct{}
}

// NewFollower returns a follower over mc. log may be nil.
func NewFollower(mc *MetaClient, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Follower{mc: mc, log: log, wait: 20 * time.Second, kick: make(chan struct{}, 1)}
	f.mu.changed = make(chan struct{})
	return f
}

// OnNewEpoch registers fn to run (in the follower's goroutine, in order) after every new epoch
// is stored. old is nil for the first one. Register before Run.
func (f *Follower) OnNewEpoch(fn func(old, cur *View)) {
	f.mu.Lock()
	f.mu.onNew = append(f.mu.onNew, fn)
	f.mu.Unlock()
}

// Current returns the latest view, or nil before the first one arrived.
func (f *Follower) Current() *View { return f.cur.Load() }

// Epoch returns the current epoch (0 before the first view).
func (f *Follower) Epoch() uint64 {
	if v := f.cur.Load(); v != nil {
		return v.Snap.Epoch
	}
	return 0
}

// Store installs s if it is newer than the current view (for instance, one fetched on demand).
func (f *Follower) Store(s *meta.Snapshot) {
	f.mu.Lock()
	old := f.cur.Load()
	if old != nil && s.Epoch <= old.Snap.Epoch {
		f.mu.Unlock()
		return
	}
	v := NewView(s)
	f.cur.Store(v)
	close(f.mu.changed)
	f.mu.changed = make(chan struct{})
	hooks := append([]func(old, cur *View){}, f.mu.onNew...)
	f.mu.Unlock()
	for _, fn := range hooks {
		fn(old, v)
	}
}

// Refresh asks the follower to poll meta now rather than wait for its long poll.
func (f *Follower) Refresh() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// WaitEpoch waits until the current epoch is at least epoch, asking meta at once.
func (f *Follower) WaitEpoch(ctx context.Context, epoch uint64) (*View, error) {
	for {
		f.mu.Lock()
		v, ch := f.cur.Load(), f.mu.changed
		f.mu.Unlock()
		if v != nil && v.Snap.Epoch >= epoch {
			return v, nil
		}
		f.Refresh()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Run long-polls until ctx ends. Errors are logged and retried with backoff.
func (f *Follower) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		after := f.Epoch()
		wait := f.wait
		if f.cur.Load() == nil {
			after, wait = 0, 0
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { // a kick cuts the long poll short
			defer close(done)
			select {
			case <-f.kick:
				if wait > 0 {
					cancel()
				}
			case <-pctx.Done():
			}
		}()
		s, err := f.mc.WatchEpoch(pctx, after, wait)
		cancel()
		<-done
		switch {
		case err != nil && pctx.Err() != nil:
			// Kicked (or stopping): poll again at once; a newer epoch answers immediately.
		case err != nil:
			f.log.Warn("epoch watch failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-f.kick:
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 2*time.Second)
		case s != nil:
			backoff = 100 * time.Millisecond
			if cur := f.Current(); cur == nil || s.Epoch > cur.Snap.Epoch {
				f.log.Debug("new epoch", "epoch", s.Epoch)
			}
			f.Store(s)
		}
	}
}
