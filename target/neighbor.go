package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/meta"
)

// While the cluster is unsettled (some target's rebalance is not done, or a target is down), an
// object may still sit at a target other than its owner. The owner then serves a request for
// an object it lacks from its neighbours: GET and HEAD fetch the newest copy, store it and
// serve it; a PUT counts its version up from the highest version found elsewhere; a DELETE
// removes the other copies too and leaves a tombstone, so that a copy still in flight does not
// bring the object back.

// tombstones remember objects deleted during a rebalance (by object key).
type tombstones struct {
	mu sync.Mutex
	m  map[string]tombstone
}

type tombstone struct {
	version uint64 // the highest version deleted
	at      time.Time
}

func newTombstones() *tombstones { return &tombstones{m: map[string]tombstone{}} }

func (t *tombstones) add(key string, version uint64, now time.Time) {
	t.mu.Lock()
	if old, ok := t.m[key]; ok {
		version = max(version, old.version)
	}
	t.m[key] = tombstone{version: version, at: now}
	t.mu.Unlock()
}

func (t *tombstones) has(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.m[key]
	return ok
}

func (t *tombstones) version(key string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[key].version
}

// prune forgets tombstones set before cutoff, or all of them (once the cluster is settled
// nothing is in flight any more).
func (t *tombstones) prune(cutoff time.Time, all bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, ts := range t.m {
		if all || ts.at.Before(cutoff) {
			delete(t.m, k)
		}
	}
}

// flights lets concurrent requests for one missing object wait for a single fetch.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

func (f *flights) do(key string, fn func() error) error {
	f.mu.Lock()
	if fl, ok := f.m[key]; ok {
		f.mu.Unlock()
		<-fl.done
		return fl.err
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	f.mu.Unlock()
	fl.err = fn()
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(fl.done)
	return fl.err
}

// unsettled reports whether objects may sit elsewhere than at their owner under view: the
// rebalancer runs (it does not in unit tests of the data path) and not every target has
// reported its rebalance towards view's placement done, or a target is down.
func (r *rebalancer) unsettled(view *api.View) bool {
	if !r.started.Load() {
		return false
	}
	return r.settledFor.Load() != balancer.PlacementID(view.Snap) || len(balancer.Down(view.Snap)) > 0
}

// copyInfo is one neighbour's copy of an object.
type copyInfo struct {
	node meta.Node
	stamp
}

// lookup asks every other target that may hold objects for its copy of an object (in
// parallel) and returns the newest. complete is false when some target could not answer (or
// is down): a copy may exist that was not seen.
func (r *rebalancer) lookup(ctx context.Context, view *api.View, b *meta.Bucket, name string) (best *copyInfo, complete bool) {
	var mu sync.Mutex
	complete = len(balancer.Down(view.Snap)) == 0
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range balancer.Holders(view.Snap) {
		if n.ID == r.s.id || n.DataURL == "" {
			continue
		}
		g.Go(func() error {
			ci, found, err := r.headCopy(gctx, n, b, name)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				complete = false
			case found && (best == nil || ci.stamp.after(best.stamp)):
				best = ci
			}
			return nil
		})
	}
	_ = g.Wait()
	return best, complete
}

func (r *rebalancer) copyURL(n meta.Node, b *meta.Bucket, name string) string {
	return internalObjectURL(n.DataURL, copiesPrefix, b.Name, name) + "?bucket_id=" + strconv.FormatUint(b.ID, 10)
}

func (r *rebalancer) headCopy(ctx context.Context, n meta.Node, b *meta.Bucket, name string) (*copyInfo, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, r.copyURL(n, b, name), nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := r.peer.Do(req)
	if err != nil {
		return nil, false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		ch, err := readCopyHeaders(resp.Header)
		if err != nil {
			return nil, false, err
		}
		return &copyInfo{node: n, stamp: ch.stamp}, true, nil
	case http.StatusNotFound:
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("target: HEAD copy on %s: %s", n.ID, resp.Status)
}

// fetch copies an object from a neighbour into the local store (only if it is newer than a
// local copy, and the object was not deleted here meanwhile).
func (r *rebalancer) fetch(ctx context.Context, view *api.View, b *meta.Bucket, name string, from meta.Node) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.copyURL(from, b, name), nil)
	if err != nil {
		return err
	}
	resp, err := r.peer.Do(req)
	if err != nil {
		return fmt.Errorf("%w: fetch from %s: %v", meta.ErrUnavailable, from.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.ReadError(resp)
	}
	ch, err := readCopyHeaders(resp.Header)
	if err != nil {
		return err
	}
	key := meta.ObjectKey(b.Key(), name)
	_, err = r.s.store.Put(ctx, PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name, Body: resp.Body,
		Size: resp.ContentLength, Want: ch.want, Custom: ch.custom, KeepVersion: ch.Version, KeepMtime: ch.Mtime, KeepEpoch: ch.Epoch,
		Guard: func(cur *ObjectMeta) error {
			if r.tombs.has(key) {
				return errCopyRefused
			}
			if !newerCopy(ch.stamp, cur) {
				return errCopyKept
			}
			return nil
		}})
	if errors.Is(err, errCopyKept) || errors.Is(err, errCopyRefused) {
		return nil
	}
	if err == nil {
		r.log.Debug("fetched an object from its previous holder", "object", key, "from", from.ID, "version", ch.Version, "epoch", ch.Epoch)
		if j := r.lastJob(); j != nil {
			j.AddReceived(1, resp.ContentLength) // it moved here, by a GET rather than by the job
		}
	}
	return err
}

// ensureLocal makes sure an object this target owns but lacks is fetched from a neighbour when
// the cluster is unsettled. An object nobody has is left to the handler's 404; one that may sit
// on a target that did not answer is meta.ErrUnavailable (the client retries).
func (r *rebalancer) ensureLocal(ctx context.Context, view *api.View, b *meta.Bucket, name string) error {
	if !r.unsettled(view) || r.s.store.NewestMeta(b, name) != nil {
		return nil
	}
	key := meta.ObjectKey(b.Key(), name)
	if r.tombs.has(key) {
		return nil
	}
	return r.flight.do(key, func() error {
		if r.s.store.NewestMeta(b, name) != nil {
			return nil
		}
		best, complete := r.lookup(ctx, view, b, name)
		if best == nil {
			if !complete {
				return fmt.Errorf("target: %s: %w: a target that may hold it is down or did not answer",
					key, meta.ErrUnavailable)
			}
			return nil
		}
		return r.fetch(ctx, view, b, name, best.node)
	})
}

// versionFloor is the store's hook for a new write: while the cluster is unsettled and the
// object is not here, the highest version elsewhere (or deleted here), so that the new
// version is above every older copy still on its way.
func (r *rebalancer) versionFloor(ctx context.Context, b *meta.Bucket, name string) uint64 {
	view := r.s.follower.Current()
	if view == nil || !r.unsettled(view) {
		return 0
	}
	floor := r.tombs.version(meta.ObjectKey(b.Key(), name))
	if r.s.store.NewestMeta(b, name) != nil {
		return floor
	}
	if best, _ := r.lookup(ctx, view, b, name); best != nil {
		floor = max(floor, best.Version)
	}
	return floor
}

// deleteEverywhere runs before a DELETE while the cluster is unsettled: it leaves a tombstone
// and removes the copies other targets hold. found says whether one of them had one.
func (r *rebalancer) deleteEverywhere(ctx context.Context, view *api.View, b *meta.Bucket, name string) (found, complete bool, err error) {
	key := meta.ObjectKey(b.Key(), name)
	var local uint64
	if m := r.s.store.NewestMeta(b, name); m != nil {
		local = m.Version
	}
	r.tombs.add(key, local, r.s.clock.Now())
	complete = len(balancer.Down(view.Snap)) == 0
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range balancer.Holders(view.Snap) {
		if n.ID == r.s.id || n.DataURL == "" {
			continue
		}
		g.Go(func() error {
			v, had, err := r.dropRemote(gctx, n, b, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				complete = false
				r.log.Warn("could not delete a neighbour's copy", "object", key, "target", n.ID, "err", err)
				return nil
			}
			if had {
				found = true
				r.tombs.add(key, v, r.s.clock.Now())
			}
			return nil
		})
	}
	_ = g.Wait()
	return found, complete, nil
}

func (r *rebalancer) dropRemote(ctx context.Context, n meta.Node, b *meta.Bucket, name string) (uint64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, r.copyURL(n, b, name), nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := r.peer.Do(req)
	if err != nil {
		return 0, false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		v, _ := strconv.ParseUint(resp.Header.Get(api.HeaderVersion), 10, 64)
		return v, true, nil
	case http.StatusNotFound:
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("target: DELETE copy on %s: %s", n.ID, resp.Status)
}

// beforeObject does what an unsettled cluster asks of a data request before its handler runs
// (the native and the S3 one alike). done says the answer was sent here.
func (s *Server) beforeObject(c echo.Context, view *api.View, b *meta.Bucket, name string) (done bool, err error) {
	r := c.Request()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return false, s.reb.ensureLocal(r.Context(), view, b, name)
	case http.MethodDelete:
		if !s.reb.unsettled(view) || r.URL.Query().Get("uploadId") != "" {
			return false, nil
		}
		found, complete, err := s.reb.deleteEverywhere(r.Context(), view, b, name)
		if err != nil || s.store.NewestMeta(b, name) != nil {
			return false, err // the handler deletes the local copy and answers
		}
		if !found {
			if !complete {
				return false, fmt.Errorf("target: delete %s/%s: %w: a target that may hold it is down or did not answer",
					b.Key(), name, meta.ErrUnavailable)
			}
			return false, nil
		}
		if s3Request(r) {
			return true, c.NoContent(http.StatusNoContent)
		}
		return true, c.NoContent(http.StatusOK)
	}
	return false, nil
}
