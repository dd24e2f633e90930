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
	if f.m == nil {
		f.m = map[string]*flight{}
	}
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

// keyLocks serializes work on one key: lock waits for the key's holder, if any, and returns
// the unlock. Entries exist only while held or waited for.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
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

// copyInfo is one neighbour's copy of an object, or its tombstone (deleted).
type copyInfo struct {
	node meta.Node
	stamp
	deleted bool
}

// lookup asks every other target that may hold objects for its copy of an object (in
// parallel) and returns the newest copy or tombstone (stamp order). complete is false when some target could not answer (or
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
			case found && newerInfo(ci, best):
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
		st, ok, err := readTombHeaders(resp.Header)
		if err != nil || !ok {
			return nil, false, err
		}
		return &copyInfo{node: n, stamp: st, deleted: true}, true, nil
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
	if r.tombs.kills(b, name, ch.stamp) {
		return nil
	}
	_, err = r.s.store.Put(ctx, PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name, Body: resp.Body,
		Size: resp.ContentLength, Want: ch.want, Custom: ch.custom, KeepVersion: ch.Version, KeepMtime: ch.Mtime, KeepEpoch: ch.Epoch,
		Guard: func(cur *ObjectMeta) error {
			if r.tombs.kills(b, name, ch.stamp) {
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

// placeEpoch is the epoch from which the current placement holds as far as this target knows
// (it saw every epoch since, with the same placement).
func (r *rebalancer) placeEpoch() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.placeEpoch
}

// ensureLocal makes sure that, while the cluster is unsettled, this owner serves the newest
// copy of an object: one it lacks, or one newer than its own (a write accepted by another
// target while this one was down or cut off), is fetched from the neighbour that holds it; a
// neighbour's tombstone newer than the local copy deletes the local copy. A local copy written
// since the current placement began needs no lookup: only this target wrote the object since.
// An object nobody has is left to the handler's 404; one that may sit on a target that did not
// answer, while there is no local copy, is meta.ErrUnavailable (the client retries). With a
// local copy and a target that did not answer, the local copy is served.
func (r *rebalancer) ensureLocal(ctx context.Context, view *api.View, b *meta.Bucket, name string) error {
	if !r.unsettled(view) {
		return nil
	}
	local := r.s.store.NewestMeta(b, name)
	if local != nil && local.Epoch >= r.placeEpoch() {
		return nil
	}
	if ts, ok := r.tombs.get(b, name); ok && local != nil && ts.kills(local.stamp()) {
		if _, err := r.s.store.removeDead(b, name, ts.Stamp); err != nil {
			return err
		}
	}
	// A tombstone here does not settle it: the object may have been written again elsewhere
	// after the delete (by the owner of a later epoch, or after it at the same one), so the
	// neighbours are asked in any case; a copy the tombstone kills is not fetched (fetch).
	key := meta.ObjectKey(b.Key(), name)
	return r.flight.do(key, func() error {
		best, complete := r.lookup(ctx, view, b, name)
		local := r.s.store.NewestMeta(b, name)
		if best != nil && !best.deleted && best.supersedes(local) {
			return r.fetch(ctx, view, b, name, best.node)
		}
		if best != nil && best.deleted && best.supersedes(local) {
			r.tombs.add(b, name, best.stamp, r.s.clock.Now())
			if _, err := r.s.store.removeDead(b, name, best.stamp); err != nil {
				return err
			}
			local = r.s.store.NewestMeta(b, name)
		}
		// Nothing here (or only a tombstone, here or at a neighbour): absent only if every
		// target that may hold the object answered; a target that is down may hold a write
		// that followed the delete.
		if local == nil && !complete {
			return fmt.Errorf("target: %s: %w: a target that may hold it is down or did not answer",
				key, meta.ErrUnavailable)
		}
		return nil
	})
}

// versionFloor is the store's hook for a new write: while the cluster is unsettled and the
// object is not here, the highest version elsewhere (or deleted here), so that versions keep
// counting up across owners (the write epoch orders the copies, rebalance_store.go).
func (r *rebalancer) versionFloor(ctx context.Context, b *meta.Bucket, name string) uint64 {
	floor := r.tombs.version(b, name) // versions go on counting after a delete
	view := r.s.follower.Current()
	if view == nil || !r.unsettled(view) {
		return floor
	}
	if r.s.store.NewestMeta(b, name) != nil {
		return floor
	}
	if best, _ := r.lookup(ctx, view, b, name); best != nil {
		floor = max(floor, best.Version)
	}
	return floor
}

// deleteEverywhere runs before a DELETE while the cluster is unsettled: it leaves a tombstone
// (stamped with this epoch and the highest version deleted) and removes the copies other
// targets hold, which record the tombstone too. found says whether this target or one of them
// had one: a local copy the tombstone kills counts even if it is gone by the time the handler
// looks (a neighbour's rebalance job that starts now pushes the tombstone it just received back
// to this owner, and a concurrent GET applies it too: both remove the copy it kills).
func (r *rebalancer) deleteEverywhere(ctx context.Context, view *api.View, b *meta.Bucket, name string) (found, complete bool, err error) {
	key := meta.ObjectKey(b.Key(), name)
	st := stamp{Epoch: view.Snap.Epoch, Version: r.tombs.version(b, name), Mtime: r.s.clock.Now().UnixNano()}
	if m := r.s.store.NewestMeta(b, name); m != nil {
		st.Version = max(st.Version, m.Version)
		st.Epoch = max(st.Epoch, m.Epoch)
		found = true
	}
	r.tombs.add(b, name, st, r.s.clock.Now())
	complete = len(balancer.Down(view.Snap)) == 0
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range balancer.Holders(view.Snap) {
		if n.ID == r.s.id || n.DataURL == "" {
			continue
		}
		g.Go(func() error {
			v, had, err := r.dropRemote(gctx, n, b, name, st)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				complete = false
				r.log.Warn("could not delete a neighbour's copy", "object", key, "target", n.ID, "err", err)
				return nil
			}
			if had {
				found = true
				if v > st.Version {
					r.tombs.add(b, name, stamp{Epoch: st.Epoch, Version: v, Mtime: st.Mtime}, r.s.clock.Now())
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	// A copy on its way here when the delete came was refused under the tombstone; its
	// sender dropped it, maybe before it was asked above.
	found = found || r.tombs.hit(b, name, st)
	return found, complete, nil
}

// dropRemote asks target n to record the tombstone st of an object and to remove the copies it
// kills; had says n removed one (of version v).
func (r *rebalancer) dropRemote(ctx context.Context, n meta.Node, b *meta.Bucket, name string, st stamp) (uint64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, r.copyURL(n, b, name), nil)
	if err != nil {
		return 0, false, err
	}
	setTombHeaders(req.Header, st)
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
	if err := s.checkFresh(); err != nil {
		return false, err // rebalance_fresh.go: this target's view may be stale
	}
	r := c.Request()
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		if !conditional(r) {
			return false, nil
		}
		// A conditional write (S3 If-Match, If-None-Match: s3_put.go, mpu_http.go) reads the
		// object's state: like a GET, it must see the newest copy, which may still sit on a
		// neighbour. Without one here and with a holder that did not answer, it is
		// unavailable rather than decided against a state that may be stale.
		return false, s.reb.ensureLocal(r.Context(), view, b, name)
	case http.MethodGet, http.MethodHead:
		err := s.reb.ensureLocal(r.Context(), view, b, name)
		if err != nil && b.Props.EC.Enabled && errors.Is(err, meta.ErrUnavailable) {
			return false, nil // the GET rebuilds it from EC slices (ec_restore.go)
		}
		return false, err
	case http.MethodDelete:
		if !s.reb.unsettled(view) || r.URL.Query().Get("uploadId") != "" {
			return false, nil
		}
		// One unsettled DELETE of an object at a time, from its tombstone to the removal of
		// the local copy: found counts a local copy present when the tombstone is stamped
		// (its removal may be the tombstone's own doing, pushed back by a neighbour), which
		// is right only if no other delete can remove that copy in between.
		unlock := s.reb.deleting.lock(meta.ObjectKey(b.Key(), name))
		defer unlock()
		prev := s.store.NewestMeta(b, name)
		found, complete, err := s.reb.deleteEverywhere(r.Context(), view, b, name)
		if err != nil {
			return false, err
		}
		switch err := s.store.Delete(b, name, b.Props.Write.Fsync); {
		case err == nil:
			found = true
		case !isNotFound(err):
			return false, err
		}
		if found && b.Props.EC.Enabled {
			s.ecDelete(r.Context(), view, b, name, prev) // ec_delete.go
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

// conditional reports whether a write carries a condition on the object's current state.
func conditional(r *http.Request) bool {
	return r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != ""
}
