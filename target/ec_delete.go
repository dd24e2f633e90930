package target

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// Deletes in an EC bucket (docs/protection.md). The owner removes its copy, then every
// target's slice or replica of the object. A target that cannot be reached (killed, cut off,
// down) keeps its piece; if nothing remembered the delete, a GET or an
// ec-repair on the owner would find that piece once the target is back and restore the
// deleted object from it. So the owner records a tombstone naming those targets (pending):
// restore on read and ec-repair do not rebuild an object from pieces a tombstone kills (the
// targets reached record it too, for reads that fall back to them), the
// tombstone is not pruned while targets are pending, and a background loop sends the delete
// again, with the tombstone, until each pending target has removed its piece (a piece of a
// write that followed the delete stays) or has left the cluster.

// ecRetryInterval is how often the owner retries EC deletes that did not reach every target.
const ecRetryInterval = 2 * time.Second

// ecDelete removes an object's slices and replicas on every target of the view. prev is the
// owner's record of the deleted object (nil: none); a tombstone with the targets not reached
// is left when there are any.
func (s *Server) ecDelete(ctx context.Context, view *api.View, b *meta.Bucket, name string, prev *ObjectMeta) {
	st := stamp{Epoch: view.Snap.Epoch, Version: s.reb.tombs.version(b, name), Mtime: s.clock.Now().UnixNano()}
	if prev != nil {
		st.Version = max(st.Version, prev.Version)
		st.Epoch = max(st.Epoch, prev.Epoch)
	}
	var (
		mu      sync.Mutex
		pending []string
		reached []meta.Node
		wg      sync.WaitGroup
	)
	for _, n := range view.Snap.Nodes {
		if n.Role != meta.RoleTarget {
			continue
		}
		if n.State == meta.NodeDown || n.State == meta.NodeJoining || (n.DataURL == "" && n.ID != s.id) {
			pending = append(pending, n.ID) // it may hold a piece; retried when it is back
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if n.ID == s.id {
				_, err = s.store.RemoveSlice(b, name)
			} else {
				_, err = s.deleteSlice(ctx, n, b, name, nil)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.Warn("EC delete: slice not removed; retrying in the background", "object", name, "node", n.ID, "err", err)
				pending = append(pending, n.ID)
			} else if n.ID != s.id {
				reached = append(reached, n)
			}
		}()
	}
	wg.Wait()
	if len(pending) == 0 {
		return
	}
	s.reb.tombs.addPending(b, name, st, s.clock.Now(), pending)
	// The targets reached learn the tombstone too: one of them may be asked to serve the object
	// from its pieces while the owner is unreachable (the gateway's fallback read).
	for _, n := range reached {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.deleteSlice(ctx, n, b, name, &st)
		}()
	}
	wg.Wait()
}

// ecKilled reports whether the tombstone ts kills the write a slice or replica record rec
// belongs to: a piece of the deleted version or an older one. Pieces carry the object's
// version and mtime, not its write epoch; a write after the delete counts its version up from
// the tombstone's and is later, so both must be at most the tombstone's.
func ecKilled(ts tombstone, rec *codec.SliceMeta) bool {
	return rec.ObjVersion <= ts.Stamp.Version && rec.ObjMtime <= ts.Stamp.Mtime
}

// deadGroup reports whether a tombstone here kills the pieces of group (a deleted object whose
// pieces a target that missed the delete still holds); it removes them, best effort.
func (s *Server) deadGroup(ctx context.Context, b *meta.Bucket, name string, group []slicePiece) bool {
	ts, ok := s.reb.tombs.get(b, name)
	if !ok || len(group) == 0 || !ecKilled(ts, group[0].rec) {
		return false
	}
	for _, p := range group {
		if p.node.ID == s.id {
			s.removeDeadSlice(b, name, ts.Stamp)
			continue
		}
		if _, err := s.deleteSlice(ctx, p.node, b, name, &ts.Stamp); err != nil {
			s.log.Debug("EC: a deleted object's piece not removed", "object", name, "node", p.node.ID, "err", err)
		}
	}
	s.log.Info("EC: not restoring a deleted object from pieces a target kept", "bucket", b.Key(), "object", name,
		"version", group[0].rec.ObjVersion, "pieces", len(group))
	return true
}

// removeDeadSlice removes this target's piece of an object if the tombstone st kills it.
func (s *Server) removeDeadSlice(b *meta.Bucket, name string, st stamp) (bool, error) {
	rec, f, err := s.store.OpenSlice(b, name)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	f.Close()
	if !ecKilled(tombstone{Stamp: st}, rec) {
		return false, nil // a later write's piece
	}
	return s.store.RemoveSlice(b, name)
}

// deleteSlice asks target n to remove its slice or replica of an object: any, or with st only
// one the tombstone st kills (the target records the tombstone too). found says it removed one.
func (s *Server) deleteSlice(ctx context.Context, n meta.Node, b *meta.Bucket, name string, st *stamp) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, sliceURL(n, b, name), nil)
	if err != nil {
		return false, err
	}
	if st != nil {
		setTombHeaders(req.Header, *st)
	}
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("target: DELETE slice on %s: %s", n.ID, resp.Status)
}

// dropSlice answers DELETE /v1/internal/ec/{bucket}/{object...} on the data listener: this
// target's slice or replica of the object goes; with a tombstone in the headers only one it
// kills, and the tombstone is recorded. 404 if none was removed.
func (s *Server) dropSlice(c echo.Context) error {
	b, name, st, tomb, err := s.internalDelete(c.Request(), ecPrefix)
	if err != nil {
		return err
	}
	var found bool
	if tomb {
		s.reb.tombs.add(b, name, st, s.clock.Now())
		found, err = s.removeDeadSlice(b, name, st)
	} else {
		found, err = s.store.RemoveSlice(b, name)
	}
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("target: drop slice %s/%s: %w", b.Key(), name, meta.ErrObjectNotFound)
	}
	return c.NoContent(http.StatusOK)
}

// retryECDeletes sends the EC deletes that did not reach every target again, every
// ecRetryInterval, until ctx ends.
func (s *Server) retryECDeletes(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(ecRetryInterval):
		}
		view := s.follower.Current()
		if view == nil {
			continue
		}
		for _, ts := range s.reb.tombs.pending() {
			b, ok := view.Snap.Buckets[ts.Bucket]
			if !ok || b.ID != ts.BucketID {
				for _, id := range ts.Pending {
					s.reb.tombs.reached(meta.ObjectKey(ts.Bucket, ts.Name), ts.Stamp, id, s.clock.Now()) // the bucket is gone
				}
				continue
			}
			for _, id := range ts.Pending {
				n, inMap := view.Snap.Nodes[id]
				switch {
				case !inMap: // it left the cluster, with its pieces
				case n.State == meta.NodeDown || n.State == meta.NodeJoining || n.DataURL == "":
					continue
				default:
					rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := s.deleteSlice(rctx, n, &b, ts.Name, &ts.Stamp)
					cancel()
					if err != nil {
						s.log.Debug("EC delete retry failed", "object", ts.Name, "node", id, "err", err)
						continue
					}
					s.log.Info("EC delete reached a target that missed it", "bucket", ts.Bucket, "object", ts.Name, "node", id)
				}
				s.reb.tombs.reached(meta.ObjectKey(ts.Bucket, ts.Name), ts.Stamp, id, s.clock.Now())
			}
		}
	}
}
