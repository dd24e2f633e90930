package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Tombstones remember objects deleted while the cluster is unsettled (docs/rebalance.md,
// "Deletes"). A tombstone carries the stamp of the delete: the epoch at which it was accepted,
// the highest version it removed and its time. A copy whose stamp does not order after the
// tombstone's is dead: a receiver refuses it, a neighbour lookup treats it as deleted, and a
// target that learns the tombstone removes its own dead copies. Tombstones are kept on disk
// (tombstonesFile on every mountpath), so that a target restarted in the middle of a
// rebalance still refuses what it deleted, and every target's rebalance job pushes the
// tombstones of objects another target owns to that owner: a target that was down when the
// object was deleted learns the delete when it comes back. They are forgotten once the
// cluster is settled (no copy can be in flight any more), or after RebalanceConfig.TombstoneTTL.
//
// Versions of the file: 1 (2026-11): JSON of tombstoneFile.
const (
	tombstonesFile = sysDir + "/tombstones.json"
	tombstonesV1   = 1
	maxTombsFile   = 64 << 20
)

// Headers of a tombstone on the copies endpoint: a HEAD or GET of a deleted object answers 404
// with headerTomb set and the delete's stamp in the copy headers (api.HeaderVersion,
// headerMtime, headerWEpoch); a DELETE with headerTomb asks the receiver to record the
// tombstone and to remove only the copies it kills.
const headerTomb = "Ais-Tombstone"

type tombstone struct {
	Bucket   string    `json:"bucket"` // bucket key
	BucketID uint64    `json:"bucket_id"`
	Name     string    `json:"name"`
	Stamp    stamp     `json:"stamp"`
	At       time.Time `json:"at"`
	// Hit says a copy this tombstone kills was refused on its way in (a rebalance transfer
	// that crossed the delete): its sender then drops it, so the delete did find the object
	// although no target answers that it removed one.
	Hit bool `json:"hit,omitempty"`
	// Pending are the targets that may still hold EC slices or replicas of the deleted object
	// because the DELETE could not reach them (ec_delete.go); the tombstone is kept, and the
	// delete retried, until none is left.
	Pending []string `json:"pending,omitempty"`
}

// kills reports whether a copy with stamp s is dead under the tombstone: it was written at an
// earlier epoch than the delete, or at the same epoch no later than the delete. Within one
// epoch only the owner writes and deletes an object, so both times come from its clock; the
// version does not help there: a write after a delete counts from what is stored, and the
// delete left nothing (a new object at version 1 must not die under the tombstone of version 5).
func (t tombstone) kills(s stamp) bool {
	if s.Epoch != t.Stamp.Epoch {
		return s.Epoch < t.Stamp.Epoch
	}
	return s.Mtime <= t.Stamp.Mtime
}

// newerInfo reports whether the neighbour's answer c is newer than b (nil: none): copies by
// their stamps, a tombstone over a copy it kills, a copy over a tombstone that does not kill
// it, tombstones by epoch and delete time.
func newerInfo(c, b *copyInfo) bool {
	switch {
	case b == nil:
		return true
	case c.deleted && b.deleted:
		return c.Epoch > b.Epoch || c.Epoch == b.Epoch && c.Mtime > b.Mtime
	case c.deleted:
		return tombstone{Stamp: c.stamp}.kills(b.stamp)
	case b.deleted:
		return !(tombstone{Stamp: b.stamp}).kills(c.stamp)
	}
	return c.after(b.stamp)
}

// supersedes reports whether the neighbour's answer c is newer than the local record (nil:
// none).
func (c *copyInfo) supersedes(local *ObjectMeta) bool {
	if local == nil {
		return true
	}
	if c.deleted {
		return tombstone{Stamp: c.stamp}.kills(local.stamp())
	}
	return c.after(local.stamp())
}

type tombstoneFile struct {
	Version int         `json:"v"`
	Tombs   []tombstone `json:"tombs"`
}

// tombstones is the set of tombstones by object key. save, if set, persists the whole set
// after every change (under mu, so that writes are ordered).
type tombstones struct {
	mu   sync.Mutex
	m    map[string]tombstone
	save func([]byte)
}

func newTombstones() *tombstones { return &tombstones{m: map[string]tombstone{}} }

// add records a delete of the object with stamp st (merged with an earlier tombstone: the
// later stamp wins).
func (t *tombstones) add(b *meta.Bucket, name string, st stamp, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(b, name, st, now, nil)
}

// addPending is add for an EC delete that could not reach the targets pending: the tombstone
// also names them (merged with those an earlier one names).
func (t *tombstones) addPending(b *meta.Bucket, name string, st stamp, now time.Time, pending []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(b, name, st, now, pending)
}

func (t *tombstones) addLocked(b *meta.Bucket, name string, st stamp, now time.Time, pending []string) {
	key := meta.ObjectKey(b.Key(), name)
	old, ok := t.m[key]
	if ok && old.BucketID == b.ID {
		merged := old.Pending
		for _, n := range pending {
			if !slices.Contains(merged, n) {
				merged = append(slices.Clip(merged), n)
			}
		}
		if old.kills(st) || st == old.Stamp {
			if len(merged) != len(old.Pending) {
				old.Pending = merged
				t.m[key] = old
				t.persistLocked()
			}
			return // the one recorded is as late
		}
		pending = merged
	}
	t.m[key] = tombstone{Bucket: b.Key(), BucketID: b.ID, Name: name, Stamp: st, At: now, Pending: pending}
	t.persistLocked()
}

// pending returns the tombstones that still name targets an EC delete did not reach.
func (t *tombstones) pending() []tombstone {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []tombstone
	for _, ts := range t.m {
		if len(ts.Pending) > 0 {
			ts.Pending = slices.Clone(ts.Pending)
			out = append(out, ts)
		}
	}
	return out
}

// reached drops target node from the pending list of the tombstone of key with stamp st.
func (t *tombstones) reached(key string, st stamp, node string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts, ok := t.m[key]
	if !ok || ts.Stamp != st || !slices.Contains(ts.Pending, node) {
		return
	}
	ts.Pending = slices.DeleteFunc(slices.Clone(ts.Pending), func(n string) bool { return n == node })
	if len(ts.Pending) == 0 {
		ts.Pending = nil
		ts.At = now // from now on pruned as any other
	}
	t.m[key] = ts
	t.persistLocked()
}

// get returns the tombstone of an object of bucket b, if any.
func (t *tombstones) get(b *meta.Bucket, name string) (tombstone, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts, ok := t.m[meta.ObjectKey(b.Key(), name)]
	if !ok || ts.BucketID != b.ID {
		return tombstone{}, false
	}
	return ts, true
}

// kills reports whether a copy of an object with stamp s is dead under its tombstone.
func (t *tombstones) kills(b *meta.Bucket, name string, s stamp) bool {
	ts, ok := t.get(b, name)
	return ok && ts.kills(s)
}

// refuses is kills for a copy on its way in: a copy refused records a hit on the tombstone
// (and its version, the highest deleted).
func (t *tombstones) refuses(b *meta.Bucket, name string, s stamp) bool {
	key := meta.ObjectKey(b.Key(), name)
	t.mu.Lock()
	defer t.mu.Unlock()
	ts, ok := t.m[key]
	if !ok || ts.BucketID != b.ID || !ts.kills(s) {
		return false
	}
	if !ts.Hit || s.Version > ts.Stamp.Version {
		ts.Hit = true
		ts.Stamp.Version = max(ts.Stamp.Version, s.Version)
		t.m[key] = ts
		t.persistLocked()
	}
	return true
}

// hit reports whether a copy was refused under the tombstone with stamp st (see refuses).
func (t *tombstones) hit(b *meta.Bucket, name string, st stamp) bool {
	ts, ok := t.get(b, name)
	return ok && ts.Hit && ts.Stamp.Epoch == st.Epoch && ts.Stamp.Mtime == st.Mtime
}

// inRange returns the tombstones of bucket b's objects with prefix, named after start and up
// to last ("": no bound), for a listing page.
func (t *tombstones) inRange(b *meta.Bucket, prefix, start, last string) []api.Tombstone {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []api.Tombstone
	for _, ts := range t.m {
		if ts.BucketID != b.ID || ts.Bucket != b.Key() || !strings.HasPrefix(ts.Name, prefix) ||
			ts.Name <= start || last != "" && ts.Name > last {
			continue
		}
		out = append(out, api.Tombstone{Name: ts.Name, Epoch: ts.Stamp.Epoch, Mtime: ts.Stamp.Mtime})
	}
	return out
}

// version is the highest version deleted (0: none), the floor of a new write's version.
func (t *tombstones) version(b *meta.Bucket, name string) uint64 {
	ts, _ := t.get(b, name)
	return ts.Stamp.Version
}

func (t *tombstones) list() []tombstone {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]tombstone, 0, len(t.m))
	for _, ts := range t.m {
		out = append(out, ts)
	}
	return out
}

// prune forgets tombstones set before cutoff, or all of them (once the cluster is settled
// nothing is in flight any more).
func (t *tombstones) prune(cutoff time.Time, all bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.m)
	for k, ts := range t.m {
		if len(ts.Pending) == 0 && (all || ts.At.Before(cutoff)) {
			delete(t.m, k)
		}
	}
	if len(t.m) != n {
		t.persistLocked()
	}
}

func (t *tombstones) persistLocked() {
	if t.save == nil {
		return
	}
	f := tombstoneFile{Version: tombstonesV1, Tombs: make([]tombstone, 0, len(t.m))}
	for _, ts := range t.m {
		f.Tombs = append(f.Tombs, ts)
	}
	raw, _ := json.Marshal(f)
	t.save(raw)
}

// loadTombstones reads the tombstones a previous run left (the first mountpath with a valid
// file) and makes every later change persist.
func (r *rebalancer) loadTombstones() {
	st := r.s.store
	for _, mp := range st.Mountpaths() {
		f, err := st.fs.Open(mp + "/" + tombstonesFile)
		if err != nil {
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(f, maxTombsFile))
		_ = f.Close()
		var tf tombstoneFile
		if err != nil || json.Unmarshal(raw, &tf) != nil || tf.Version != tombstonesV1 {
			r.log.Warn("ignoring an unreadable tombstones file", "mountpath", mp, "err", err)
			continue
		}
		r.tombs.mu.Lock()
		for _, ts := range tf.Tombs {
			r.tombs.m[meta.ObjectKey(ts.Bucket, ts.Name)] = ts
		}
		r.tombs.mu.Unlock()
		if len(tf.Tombs) > 0 {
			r.log.Info("loaded tombstones of deletes during a rebalance", "count", len(tf.Tombs))
		}
		break
	}
	r.tombs.mu.Lock()
	r.tombs.save = func(raw []byte) {
		for _, mp := range st.Mountpaths() {
			if err := writeFileAtomic(st.fs, mp+"/"+tombstonesFile, raw); err != nil {
				r.log.Warn("cannot write the tombstones", "mountpath", mp, "err", err)
			}
		}
	}
	r.tombs.mu.Unlock()
}

// setTombHeaders describes a tombstone in headers.
func setTombHeaders(h http.Header, st stamp) {
	h.Set(headerTomb, "1")
	h.Set(api.HeaderVersion, strconv.FormatUint(st.Version, 10))
	h.Set(headerMtime, strconv.FormatInt(st.Mtime, 10))
	h.Set(headerWEpoch, strconv.FormatUint(st.Epoch, 10))
}

// readTombHeaders reads what setTombHeaders wrote; ok is false when there is no tombstone.
func readTombHeaders(h http.Header) (st stamp, ok bool, err error) {
	if h.Get(headerTomb) == "" {
		return st, false, nil
	}
	var e1, e2, e3 error
	st.Version, e1 = strconv.ParseUint(h.Get(api.HeaderVersion), 10, 64)
	st.Mtime, e2 = strconv.ParseInt(h.Get(headerMtime), 10, 64)
	st.Epoch, e3 = strconv.ParseUint(h.Get(headerWEpoch), 10, 64)
	if e1 != nil || e2 != nil || e3 != nil {
		return st, false, fmt.Errorf("%w: a tombstone needs %s, %s and %s", meta.ErrInvalidRequest,
			api.HeaderVersion, headerMtime, headerWEpoch)
	}
	return st, true, nil
}

// removeDead removes the local copies of an object that the tombstone st kills (a newer copy
// stays) and reports whether it removed one.
func (s *Store) removeDead(b *meta.Bucket, name string, st stamp) (bool, error) {
	removed := false
	for _, mp := range s.walkMountpaths() {
		path, err := s.copyPath(mp, b, name)
		if err != nil {
			return removed, err
		}
		cur := s.currentMeta(path, b, name)
		if cur == nil || !(tombstone{Stamp: st}).kills(cur.stamp()) {
			continue
		}
		if err := s.RemoveCopy(mp, b, name, cur.Version, cur.Mtime, b.Props.Write.Fsync); err != nil {
			return removed, err
		}
		removed = true
	}
	return removed, nil
}

// pushTombstones sends every tombstone of an object another target owns under the current view
// to that owner, so that a target that was away when the object was deleted learns it (its own
// copy would otherwise come back). It retries failed pushes until they all went through or ctx
// ends.
func (r *rebalancer) pushTombstones(ctx context.Context) error {
	for pause := 200 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		v := r.s.follower.Current()
		failed := 0
		for _, ts := range r.tombs.list() {
			b, ok := v.Snap.Buckets[ts.Bucket]
			if !ok || b.ID != ts.BucketID {
				continue
			}
			owner, err := v.Placement.Owner(meta.ObjectKey(ts.Bucket, ts.Name))
			if err != nil || owner.ID == r.s.id || owner.DataURL == "" {
				continue
			}
			if _, _, err := r.dropRemote(ctx, owner, &b, ts.Name, ts.Stamp); err != nil {
				failed++
				r.log.Debug("cannot push a tombstone", "object", meta.ObjectKey(ts.Bucket, ts.Name), "to", owner.ID, "err", err)
			}
		}
		if failed == 0 {
			return nil
		}
		r.log.Info("tombstones not delivered yet; retrying", "failed", failed, "retry_in", pause)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-r.s.clock.After(pause):
		}
	}
}
