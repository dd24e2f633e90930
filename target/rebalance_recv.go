package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Reasons a copy is not stored; the Guard of the write returns them under the object's lock.
var (
	errCopyKept    = errors.New("target: a newer or the same version is stored here")
	errCopyRefused = errors.New("target: the object was deleted here during the rebalance")
)

// internalName splits the unescaped path of a data-listener object endpoint into bucket and
// object name, and validates both.
func internalName(path, prefix string) (bucket, name string, err error) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return "", "", fmt.Errorf("%w: %s", api.ErrRouteNotFound, path)
	}
	bucket, name, _ = strings.Cut(rest, "/")
	if err := meta.ValidateBucketName(bucket); err != nil {
		return "", "", err
	}
	if err := meta.ValidateObjectName(name); err != nil {
		return "", "", err
	}
	return bucket, name, nil
}

// receiveCopy answers PUT /v1/internal/rebalance/{bucket}/{object...} on the data listener: a
// copy sent by another target's rebalance. The copy is verified against its checksum while it
// is written, keeps its version, mtime and custom metadata, and is stored only if it is newer
// than what is here and the object was not deleted here meanwhile. The answer's
// Ais-Rebalance-Outcome says stored, kept (this target has the same or a newer version) or
// refused (deleted here, or the bucket is gone); in each case the sender drops its copy.
func (s *Server) receiveCopy(c echo.Context) error {
	r := c.Request()
	h := c.Response().Header()
	bucket, name, err := internalName(r.URL.Path, rebalancePrefix)
	if err != nil {
		return err
	}
	ch, err := readCopyHeaders(r.Header)
	if err != nil {
		return err
	}
	if lease := r.Header.Get(headerLease); lease != "" {
		token, err := strconv.ParseUint(r.Header.Get(headerToken), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s", meta.ErrInvalidRequest, headerToken)
		}
		if err := s.reb.fence.Admit(lease, token); err != nil {
			return err
		}
	}
	epoch, _ := strconv.ParseUint(r.Header.Get(api.HeaderEpoch), 10, 64)
	view := s.follower.Current()
	if view == nil || view.Snap.Epoch < epoch {
		if view, err = s.waitEpoch(r.Context(), max(epoch, 1)); err != nil {
			return err
		}
	}
	h.Set(api.HeaderEpoch, strconv.FormatUint(view.Snap.Epoch, 10))
	answer := func(outcome string) error {
		h.Set(headerOutcome, outcome)
		return c.NoContent(http.StatusOK)
	}
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if !ok || b.ID != ch.bucketID {
		return answer("refused") // the bucket is gone (or was recreated) at an epoch at least the sender's
	}
	key := meta.ObjectKey(b.Key(), name)
	owner, err := view.Placement.Owner(key)
	if err != nil {
		return err
	}
	if owner.ID != s.id {
		return fmt.Errorf("%w: at epoch %d %s belongs to %s, not %s", meta.ErrStaleEpoch, view.Snap.Epoch, key, owner.ID, s.id)
	}
	if s.reb.tombs.refuses(&b, name, ch.stamp) {
		return answer("refused")
	}
	if !newerCopy(ch.stamp, s.store.NewestMeta(&b, name)) {
		return answer("kept")
	}
	_, err = s.store.Put(r.Context(), PutArgs{Bucket: &b, Epoch: view.Snap.Epoch, Name: name, Body: r.Body,
		Size: r.ContentLength, Want: ch.want, Custom: ch.custom, KeepVersion: ch.Version, KeepMtime: ch.Mtime, KeepEpoch: ch.Epoch,
		Guard: func(cur *ObjectMeta) error {
			if s.reb.tombs.refuses(&b, name, ch.stamp) {
				return errCopyRefused
			}
			if !newerCopy(ch.stamp, cur) {
				return errCopyKept
			}
			return nil
		}})
	switch {
	case errors.Is(err, errCopyKept):
		return answer("kept")
	case errors.Is(err, errCopyRefused):
		return answer("refused")
	case err != nil:
		return err
	}
	if id := r.Header.Get(headerJob); id != "" {
		if j, err := s.jobs.Get(id); err == nil {
			j.AddReceived(1, r.ContentLength)
		}
	}
	return answer("stored")
}

// copyBucket returns the bucket a data-listener copy request names, as of this target's view;
// ?bucket_id=N must match it when given. A sender that names a bucket this target does not
// know yet (or a newer one of the same name) is ahead of it: the target asks meta for the
// newest epoch and waits for it (bounded by the epoch wait) before it answers that there is
// no such bucket (CI: an EC PUT right after the bucket was made sent a slice to a target one
// epoch behind).
func (s *Server) copyBucket(r *http.Request, bucket string) (*meta.Bucket, error) {
	view := s.follower.Current()
	if view == nil {
		var err error
		if view, err = s.waitEpoch(r.Context(), 1); err != nil {
			return nil, err
		}
	}
	want, _ := strconv.ParseUint(r.URL.Query().Get("bucket_id"), 10, 64)
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if want != 0 && (!ok || b.ID < want) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.EpochWait)
		defer cancel()
		s.follower.Refresh()
		for want != 0 && (!ok || b.ID < want) {
			v, err := s.follower.WaitEpoch(ctx, view.Snap.Epoch+1)
			if err != nil {
				break
			}
			view = v
			b, ok = view.Snap.Bucket(meta.ProviderAIS, bucket)
		}
	}
	if want != 0 && ok && b.ID != want {
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("%w: ais://%s at epoch %d", meta.ErrBucketNotFound, bucket, view.Snap.Epoch)
	}
	return &b, nil
}

// serveCopy answers HEAD and GET /v1/internal/copies/{bucket}/{object...} on the data listener:
// this target's newest local copy of an object, whoever owns it, with its metadata in the
// headers (docs/rebalance.md). A neighbour asks when a client wants an object it does not
// hold yet.
func (s *Server) serveCopy(c echo.Context) error {
	r := c.Request()
	bucket, name, err := internalName(r.URL.Path, copiesPrefix)
	if err != nil {
		return err
	}
	b, err := s.copyBucket(r, bucket)
	if err != nil {
		return err
	}
	o, err := s.store.OpenNewest(b, name)
	if err != nil {
		if ts, ok := s.reb.tombs.get(b, name); ok && meta.KindOf(err) == meta.KindNotExist {
			setTombHeaders(c.Response().Header(), ts.Stamp) // deleted here: the lookup must know
		}
		return err
	}
	defer o.Close()
	h := c.Response().Header()
	setCopyHeaders(h, o.Meta)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(o.Meta.Size, 10))
	c.Response().WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead || o.Meta.Size == 0 {
		return nil
	}
	var src io.Reader = o.File
	if of, ok := o.File.(osFiler); ok {
		src = of.OSFile()
	}
	if _, err := io.Copy(c.Response().Writer, io.LimitReader(src, o.Meta.Size)); err != nil {
		return fmt.Errorf("target: send copy %s/%s: %w", b.Key(), name, err)
	}
	return nil
}

// internalDelete reads a data-listener DELETE of prefix{bucket}/{object...}: the bucket (as of
// this target's view), the object's name, and the tombstone in the headers, if any (tomb).
func (s *Server) internalDelete(r *http.Request, prefix string) (b *meta.Bucket, name string, st stamp, tomb bool, err error) {
	bucket, name, err := internalName(r.URL.Path, prefix)
	if err != nil {
		return nil, "", st, false, err
	}
	if b, err = s.copyBucket(r, bucket); err != nil {
		return nil, "", st, false, err
	}
	st, tomb, err = readTombHeaders(r.Header)
	return b, name, st, tomb, err
}

// dropCopy answers DELETE /v1/internal/copies/{bucket}/{object...}: the owner deleted the
// object during a rebalance, and this target's copies (on any mountpath) go too. With a
// tombstone in the headers (rebalance_tombs.go) this target records it and removes only the
// copies it kills. 404 if none was removed; otherwise the answer's Ais-Version is the
// version removed.
func (s *Server) dropCopy(c echo.Context) error {
	b, name, st, tomb, err := s.internalDelete(c.Request(), copiesPrefix)
	if err != nil {
		return err
	}
	m := s.store.NewestMeta(b, name)
	var found bool
	if tomb {
		s.reb.tombs.add(b, name, st, s.clock.Now())
		found, err = s.store.removeDead(b, name, st)
	} else {
		found, err = s.store.RemoveAllCopies(b, name, b.Props.Write.Fsync)
	}
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("target: drop copy %s/%s: %w", b.Key(), name, meta.ErrObjectNotFound)
	}
	if m != nil {
		c.Response().Header().Set(api.HeaderVersion, strconv.FormatUint(m.Version, 10))
	}
	return c.NoContent(http.StatusOK)
}
