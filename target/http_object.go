package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

const objectsPrefix = "/v1/objects/"

// object serves PUT, GET, HEAD and DELETE of /v1/objects/{bucket}/{object...} on the public
// listener, for clients a gateway sent here with a signed URL.
func (s *Server) object(c echo.Context) error {
	r := c.Request()
	h := c.Response().Header()
	if id := r.Header.Get(api.HeaderRequestID); id != "" {
		h.Set(api.HeaderRequestID, id)
	}
	view, b, name, err := s.admit(r)
	if view != nil {
		h.Set(api.HeaderEpoch, strconv.FormatUint(view.Snap.Epoch, 10))
	}
	if err != nil {
		return err
	}
	if ecFallback(r, b, "") {
		return s.getFallback(c, view, b, name) // ec_restore.go: the owner is unreachable
	}
	if done, err := s.beforeObject(c, view, b, name); done || err != nil {
		return err // neighbor.go: an unsettled cluster's part of the request
	}
	if r.Method == http.MethodPost || s3Request(r) {
		return s.s3Object(c, view, b, name) // s3_put.go
	}
	switch r.Method {
	case http.MethodPut:
		if b.Props.EC.Enabled {
			return s.putEC(c, view, b, name) // ec_put.go
		}
		return s.putObject(c, view, b, name)
	case http.MethodDelete:
		prev := s.store.NewestMeta(b, name)
		if err := s.store.Delete(b, name, b.Props.Write.Fsync); err != nil {
			return err
		}
		if b.Props.EC.Enabled {
			s.ecDelete(r.Context(), view, b, name, prev) // ec_delete.go
		}
		return c.NoContent(http.StatusOK)
	default:
		return s.getObject(c, view, b, name)
	}
}

// admit checks a data request: the signature, the epoch (waiting to learn a newer one), the
// names, the bucket, and that this target owns the object in its view.
func (s *Server) admit(r *http.Request) (*api.View, *meta.Bucket, string, error) {
	view := s.follower.Current()
	if view == nil {
		var err error
		if view, err = s.waitEpoch(r.Context(), 1); err != nil {
			return nil, nil, "", err
		}
	}
	signer, err := s.signerFor(view)
	if err != nil {
		return view, nil, "", err
	}
	epoch, err := signer.Verify(r.Method, r.URL.Path, r.URL.Query(), s.clock.Now())
	if err != nil {
		return view, nil, "", err
	}
	if epoch > view.Snap.Epoch {
		if view, err = s.waitEpoch(r.Context(), epoch); err != nil {
			return s.follower.Current(), nil, "", err
		}
	}
	bucket, name, err := splitObjectPath(r.URL.Path)
	if err != nil {
		return view, nil, "", err
	}
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		return view, nil, "", fmt.Errorf("%w: ais://%s at epoch %d", meta.ErrBucketNotFound, bucket, view.Snap.Epoch)
	}
	owner, err := view.Placement.Owner(meta.ObjectKey(b.Key(), name))
	if err != nil {
		return view, nil, "", err
	}
	if owner.ID != s.id && !ecFallback(r, &b, owner.ID) { // ec_restore.go
		return view, nil, "", fmt.Errorf("%w: at epoch %d %s/%s belongs to %s, not %s",
			meta.ErrStaleEpoch, view.Snap.Epoch, b.Key(), name, owner.ID, s.id)
	}
	return view, &b, name, nil
}

// splitObjectPath takes "/v1/objects/{bucket}/{object}" apart (the unescaped URL path, as
// signed) and validates both names.
func splitObjectPath(path string) (bucket, name string, err error) {
	rest, ok := strings.CutPrefix(path, objectsPrefix)
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

// waitEpoch waits up to EpochWait for the follower to reach epoch.
func (s *Server) waitEpoch(ctx context.Context, epoch uint64) (*api.View, error) {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.EpochWait)
	defer cancel()
	v, err := s.follower.WaitEpoch(wctx, epoch)
	if err != nil {
		return nil, fmt.Errorf("%w: epoch %d not reached in %s (at %d)", meta.ErrUnavailable, epoch,
			s.cfg.EpochWait, s.follower.Epoch())
	}
	return v, nil
}

// signerFor returns the verifier for the view's signing key, built once per key.
func (s *Server) signerFor(v *api.View) (*api.Signer, error) {
	key := v.Snap.Config.SigningKey
	if e := s.signer.Load(); e != nil && e.key == key {
		return e.signer, nil
	}
	sg, err := api.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("%w: the cluster has no usable signing key at epoch %d", meta.ErrUnavailable, v.Snap.Epoch)
	}
	s.signer.Store(&signerEntry{key: key, signer: sg})
	return sg, nil
}

func (s *Server) putObject(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	want, err := clientChecksum(r.Header, b.Props.Checksum.Type)
	if err != nil {
		return err
	}
	m, err := s.store.Put(r.Context(), PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name,
		Body: r.Body, Size: r.ContentLength, Want: want})
	if err != nil {
		return err
	}
	if err := s.handOverLate(r.Context(), view, b, name); err != nil {
		return err
	}
	setObjectHeaders(c.Response().Header(), m)
	return c.NoContent(http.StatusOK)
}

// handOverLate deals with a write admitted under view that committed after a newer epoch gave
// the object to another target: the rebalance towards that epoch may have walked past it
// already and would leave it here, where nobody looks once the cluster is settled. The
// object goes to its new owner before the write is acknowledged, and the copy here is removed;
// if that fails the write fails (retriable), and the client sends it again to the new owner.
func (s *Server) handOverLate(ctx context.Context, admitted *api.View, b *meta.Bucket, name string) error {
	cur := s.follower.Current()
	if cur == nil || cur.Snap.Epoch == admitted.Snap.Epoch ||
		balancer.PlacementID(cur.Snap) == balancer.PlacementID(admitted.Snap) {
		return nil
	}
	key := meta.ObjectKey(b.Key(), name)
	owner, err := cur.Placement.Owner(key)
	if err != nil || owner.ID == s.id {
		return nil
	}
	o, err := s.store.Open(b, name)
	if err != nil {
		return nil // replaced or removed meanwhile: whoever did that decides
	}
	defer o.Close()
	leaseID, token := "", uint64(0)
	if l := s.reb.lease.Load(); l != nil {
		leaseID, token = l.Lease().JobID, l.Token()
	}
	out, err := s.reb.sendCopy(ctx, owner, cur.Snap.Epoch, b, o, s.reb.currentJob(), leaseID, token)
	if err != nil {
		return fmt.Errorf("target: %s was written here at epoch %d, but epoch %d gives it to %s: %w: handing it over: %v",
			key, admitted.Snap.Epoch, cur.Snap.Epoch, owner.ID, meta.ErrUnavailable, err)
	}
	mp := meta.Mountpath(key, s.store.mountpaths())
	if out == balancer.Refused {
		// The new owner holds a delete it orders after this write (a later epoch): the write
		// is not acknowledged; sent again, it lands at the new owner after that delete.
		_ = s.store.RemoveCopy(mp, b, name, o.Meta.Version, o.Meta.Mtime, b.Props.Write.Fsync)
		return fmt.Errorf("target: %s was written here at epoch %d, but epoch %d gives it to %s, which refused it: %w",
			key, admitted.Snap.Epoch, cur.Snap.Epoch, owner.ID, meta.ErrUnavailable)
	}
	if err := s.store.RemoveCopy(mp, b, name, o.Meta.Version, o.Meta.Mtime, b.Props.Write.Fsync); err != nil {
		s.log.Warn("a late write was handed over but its copy here stays", "object", key, "to", owner.ID, "err", err)
	}
	s.log.Info("handed a late write to its new owner", "object", key, "to", owner.ID, "written_at", admitted.Snap.Epoch,
		"epoch", cur.Snap.Epoch)
	return nil
}

// clientChecksum reads Ais-Checksum-Type and Ais-Checksum-Value. A value without a type is of
// the bucket's type; a type without a value asks for nothing.
func clientChecksum(h http.Header, bucketType string) (Checksum, error) {
	typ, val := h.Get(api.HeaderChecksumType), h.Get(api.HeaderChecksumValue)
	if typ == "" {
		typ = bucketType
	}
	if !meta.ValidChecksumType(typ) {
		return Checksum{}, fmt.Errorf("%w: %s %q", meta.ErrInvalidRequest, api.HeaderChecksumType, typ)
	}
	if val == "" {
		return Checksum{}, nil
	}
	if typ == meta.ChecksumNone {
		return Checksum{}, fmt.Errorf("%w: %s sent without a checksum type", meta.ErrInvalidRequest, api.HeaderChecksumValue)
	}
	v, err := codec.ParseValue(typ, val)
	if err != nil {
		return Checksum{}, err
	}
	return Checksum{Type: typ, Value: v}, nil
}

// setObjectHeaders sets the headers that describe an object on GET, HEAD and PUT answers.
func setObjectHeaders(h http.Header, m *ObjectMeta) {
	h.Set(api.HeaderChecksumType, m.ChecksumType)
	if len(m.Checksum) > 0 {
		h.Set(api.HeaderChecksumValue, m.ChecksumHex())
	}
	h.Set(api.HeaderVersion, strconv.FormatUint(m.Version, 10))
	h.Set("ETag", m.ETag())
	h.Set("Last-Modified", time.Unix(0, m.Mtime).UTC().Format(http.TimeFormat))
}

// rangeHeader sets Content-Length for n bytes from off of an object of size bytes, and
// Content-Range when the answer is partial, and returns the status. done means the answer is
// complete without a body (HEAD, or nothing to send): the header has been written.
func rangeHeader(c echo.Context, size, off, n int64, partial bool) (status int, done bool) {
	h := c.Response().Header()
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status = http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
	}
	if c.Request().Method == http.MethodHead || n == 0 {
		c.Response().WriteHeader(status)
		return status, true
	}
	return status, false
}

// getObject answers GET and HEAD. With validation (?validate=true or the bucket's
// checksum.validate_read) the whole object is hashed before the first byte goes out, so
// damaged bytes are never served: the object is restored from a mirror copy if it has one
// (docs/protection.md), and the answer is 500 Corrupt if nothing valid is left.
func (s *Server) getObject(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	validate := api.QueryValue(r.URL.RawQuery, "validate")
	verify := r.Method == http.MethodGet && (validate == "true" || validate == "1" || b.Props.Checksum.ValidateRead)
	obj, err := s.openForRead(b, name, verify) // mirror_read.go: least busy copy, hashed if verify
	if err != nil && restorable(err) {
		// Restore on read: a missing or damaged object is rebuilt from redundancy, written
		// back, and served: mirror copies first (mirror_read.go), then EC's replicas or
		// slices (ec_restore.go).
		obj, err = s.restoreFromMirror(r.Context(), b, view.Snap.Epoch, name, verify, err)
	}
	obj, err = s.restoreFromEC(r.Context(), b, name, obj, err)
	if err != nil {
		if errors.Is(err, meta.ErrCorrupt) {
			s.log.Error("object is corrupt", "bucket", b.Key(), "object", name, "err", err)
		}
		return err
	}
	defer obj.Close()
	m := obj.Meta
	if m.EC.Sliced() {
		return s.getSliced(c, b, m, verify) // ec_restore.go: the bytes live only in slices
	}
	h := c.Response().Header()
	off, n, partial, err := parseRange(r.Header.Get("Range"), m.Size)
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", m.Size))
		return err
	}
	setObjectHeaders(h, m)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Accept-Ranges", "bytes")
	status, done := rangeHeader(c, m.Size, off, n, partial)
	if done {
		return nil
	}
	return s.sendRange(c, b, obj, status, off, n)
}

// sendRange answers status and n bytes of obj from off. An *os.File under an
// io.LimitedReader, copied into the server's own ResponseWriter, is sent by the kernel
// (sendfile) without passing through user space.
//
// A read error that sendfile met on the disk is reported to the mountpath's health check like
// any other (the file's own wrapper does not see it); the answer is cut short, never wrong.
func (s *Server) sendRange(c echo.Context, b *meta.Bucket, obj *Object, status int, off, n int64) error {
	if off > 0 {
		if _, err := obj.File.Seek(off, io.SeekStart); err != nil {
			return err
		}
	}
	var src io.Reader = obj.File
	if of, ok := obj.File.(osFiler); ok {
		src = of.OSFile()
	}
	c.Response().WriteHeader(status)
	if _, err := io.Copy(c.Response().Writer, io.LimitReader(src, n)); err != nil {
		var fe *faultError
		if diskFault(err) && !errors.As(err, &fe) {
			s.mphealth.suspect(obj.File.Name(), err)
		}
		return fmt.Errorf("target: send %s/%s: %w", b.Key(), obj.Meta.Name, err)
	}
	return nil
}
