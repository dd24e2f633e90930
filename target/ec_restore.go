package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// slicePiece is one slice or replica of an object found on a target.
type slicePiece struct {
	node meta.Node
	rec  *codec.SliceMeta
}

// findSlices asks every active target (this one too) for its slice or replica of an object,
// in parallel. Slices sit on the targets after the owner in HRW order, but asking all finds
// them also after the cluster map changed.
func (s *Server) findSlices(ctx context.Context, view *api.View, b *meta.Bucket, name string) []slicePiece {
	var mu sync.Mutex
	var out []slicePiece
	var wg sync.WaitGroup
	for _, n := range view.Snap.ActiveTargets() {
		if n.DataURL == "" && n.ID != s.id {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec *codec.SliceMeta
			if n.ID == s.id {
				r, f, err := s.store.OpenSlice(b, name)
				if err != nil {
					return
				}
				f.Close()
				rec = r
			} else {
				r, err := s.headSlice(ctx, n, b, name)
				if err != nil || r == nil {
					return
				}
				rec = r
			}
			mu.Lock()
			out = append(out, slicePiece{node: n, rec: rec})
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// pickGroup chooses the pieces of one write of the object: the one the owner's record names
// (want, when it is readable), or else the newest; duplicates of an index are dropped. usable
// says whether the group can rebuild the object.
func pickGroup(pieces []slicePiece, want *ObjectMeta) (group []slicePiece, usable bool) {
	var best *codec.SliceMeta
	for _, p := range pieces {
		r := p.rec
		if want != nil {
			if r.ObjVersion == want.Version && r.ObjSize == want.Size && bytes.Equal(r.ObjChecksum, want.Checksum) {
				if best == nil || r.ObjMtime > best.ObjMtime {
					best = r
				}
			}
			continue
		}
		if best == nil || r.ObjVersion > best.ObjVersion || r.ObjVersion == best.ObjVersion && r.ObjMtime > best.ObjMtime {
			best = r
		}
	}
	if best == nil {
		return nil, false
	}
	seen := map[int]bool{}
	for _, p := range pieces {
		if p.rec.SameObject(best) && !seen[p.rec.Index] {
			seen[p.rec.Index] = true
			group = append(group, p)
		}
	}
	if best.Kind == codec.KindReplica {
		return group, len(group) > 0
	}
	return group, len(group) >= best.Data
}

// openPiece opens a piece's bytes (a local file or a GET from its target).
func (s *Server) openPiece(ctx context.Context, b *meta.Bucket, p slicePiece) (io.ReadCloser, error) {
	if p.node.ID == s.id {
		rec, f, err := s.store.OpenSlice(b, p.rec.Name)
		if err != nil {
			return nil, err
		}
		if !rec.SameObject(p.rec) || rec.Index != p.rec.Index {
			f.Close()
			return nil, fmt.Errorf("target: local slice of %s changed", p.rec.Name)
		}
		return f, nil
	}
	rec, rc, err := s.getSlice(ctx, p.node, b, p.rec.Name)
	if err != nil {
		return nil, err
	}
	if !rec.SameObject(p.rec) || rec.Index != p.rec.Index {
		rc.Close()
		return nil, fmt.Errorf("target: slice of %s on %s changed", p.rec.Name, p.node.ID)
	}
	return rc, nil
}

// decodeTo streams the object a group rebuilds, in order, to w. Only the data slices are
// read when all are there; otherwise all that are there. rebuild, if not nil, gets the slices
// the group lacks (ec-repair).
func (s *Server) decodeTo(ctx context.Context, b *meta.Bucket, group []slicePiece, w io.Writer, rebuild []io.Writer) error {
	first := group[0].rec
	if w == nil {
		w = io.Discard
	}
	if first.Kind == codec.KindReplica {
		var errs []error
		for _, p := range group {
			rc, err := s.openPiece(ctx, b, p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			n, err := io.Copy(w, rc)
			rc.Close()
			if err == nil && n != first.ObjSize {
				err = fmt.Errorf("%w: replica on %s holds %d bytes, not %d", meta.ErrCorrupt, p.node.ID, n, first.ObjSize)
			}
			if err == nil || n > 0 {
				return err // bytes went out: the caller's checksum decides
			}
			errs = append(errs, err)
		}
		return fmt.Errorf("%w: %v", meta.ErrTooFewSlices, errors.Join(errs...))
	}
	d, p := first.Data, first.Parity
	byIndex := make([]*slicePiece, d+p)
	allData := true
	for i := range group {
		byIndex[group[i].rec.Index] = &group[i]
	}
	for i := 0; i < d; i++ {
		if byIndex[i] == nil {
			allData = false
		}
	}
	readers := make([]io.Reader, d+p)
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	opened := 0
	for i, pc := range byIndex {
		if pc == nil || (allData && rebuild == nil && i >= d) {
			continue
		}
		rc, err := s.openPiece(ctx, b, *pc)
		if err != nil {
			s.log.Warn("EC slice unreadable", "object", first.Name, "index", i, "node", pc.node.ID, "err", err)
			continue
		}
		closers = append(closers, rc)
		readers[i] = rc
		opened++
	}
	if opened < d {
		return fmt.Errorf("%w: %s: %d of %d+%d slices readable", meta.ErrTooFewSlices, first.Name, opened, d, p)
	}
	err := codec.Decode(w, first.ObjSize, d, p, first.Block, readers, rebuild)
	if errors.Is(err, codec.ErrTooFewSlices) {
		return fmt.Errorf("%w: %v", meta.ErrTooFewSlices, err)
	}
	return err
}

// objectMetaOf is the object record a group describes.
func objectMetaOf(rec *codec.SliceMeta) *ObjectMeta {
	return &ObjectMeta{Name: rec.Name, BucketID: rec.BucketID, Size: rec.ObjSize, Version: rec.ObjVersion,
		Mtime: rec.ObjMtime, ChecksumType: rec.ObjChecksumType, Checksum: rec.ObjChecksum, Custom: rec.Custom}
}

// restoreFromEC is the GET path's repair for EC buckets (called from getObject): given what
// opening (and, with validation, verifying) the owner's copy gave, it returns an object to
// serve. A missing or damaged copy is rebuilt from the replicas or slices, stored back (the
// whole object with ec.full_copy on, the record alone with it off) and opened again. An
// object whose bytes live only in slices comes back as opened: getObject streams it with
// getSliced. Too few slices left is meta.ErrTooFewSlices: never wrong bytes.
func (s *Server) restoreFromEC(ctx context.Context, b *meta.Bucket, name string, obj *Object, openErr error) (*Object, error) {
	if !b.Props.EC.Enabled {
		return obj, openErr
	}
	if openErr == nil {
		return obj, nil
	}
	k := meta.KindOf(openErr)
	if k != meta.KindNotExist && k != meta.KindCorrupt && !errors.Is(openErr, meta.ErrCorrupt) {
		return nil, openErr
	}
	view := s.follower.Current()
	if view == nil {
		return nil, openErr
	}
	want := s.store.damagedMeta(b, name) // the record of a damaged copy, if it is readable
	group, usable := pickGroup(s.findSlices(ctx, view, b, name), want)
	if want == nil && s.deadGroup(ctx, b, name, group) {
		return nil, openErr // deleted; pieces a target kept are not the object (ec_delete.go)
	}
	if len(group) == 0 {
		if k == meta.KindNotExist && want == nil {
			return nil, openErr // nothing anywhere: 404
		}
		return nil, fmt.Errorf("target: restore %s/%s: %w: no slice or replica found (%v)", b.Key(), name, meta.ErrTooFewSlices, openErr)
	}
	if !usable {
		return nil, fmt.Errorf("target: restore %s/%s: %w: %d of %d slices found (%v)", b.Key(), name,
			meta.ErrTooFewSlices, len(group), group[0].rec.Data, openErr)
	}
	rec := objectMetaOf(group[0].rec)
	// Slices carry the object's version, not its write epoch: keep the damaged record's epoch
	// when it is of the same version, else stamp the rebuilt copy with the current epoch.
	keepEpoch := view.Snap.Epoch
	if want != nil && want.Version == rec.Version {
		keepEpoch = want.Epoch
	}
	info := &ECInfo{Data: rec0(group).Data, Parity: rec0(group).Parity, Block: rec0(group).Block,
		Replicated: rec0(group).Kind == codec.KindReplica, NoCopy: !b.Props.EC.FullCopy}
	if info.NoCopy {
		if err := s.putStub(ctx, b, name, group[0].rec, keepEpoch); err != nil {
			return nil, err
		}
	} else {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.decodeTo(ctx, b, group, pw, nil)) }()
		want := Checksum{Type: rec.ChecksumType, Value: rec.Checksum}
		if rec.ChecksumType == meta.ChecksumNone {
			want = Checksum{}
		}
		_, err := s.store.Put(ctx, PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name, Body: pr, Size: rec.Size,
			Want: want, Custom: rec.Custom, KeepVersion: rec.Version, KeepMtime: rec.Mtime, KeepEpoch: keepEpoch,
			Finish: func(m *ObjectMeta) error { m.EC = info; return nil }})
		pr.CloseWithError(errors.New("done"))
		if err != nil {
			if errors.Is(err, meta.ErrTooFewSlices) {
				return nil, err
			}
			return nil, fmt.Errorf("target: restore %s/%s from EC: %w", b.Key(), name, err)
		}
	}
	s.ec.restored.Add(1)
	s.log.Info("restored an object from EC", "bucket", b.Key(), "object", name, "version", rec.Version,
		"pieces", len(group), "cause", openErr)
	return s.store.Open(b, name)
}

func rec0(g []slicePiece) *codec.SliceMeta { return g[0].rec }

// putStub stores the owner's record of an object kept only as slices.
// keepEpoch is the write epoch its record gets.
func (s *Server) putStub(ctx context.Context, b *meta.Bucket, name string, sr *codec.SliceMeta, keepEpoch uint64) error {
	rec := objectMetaOf(sr)
	_, err := s.store.Put(ctx, PutArgs{Bucket: b, Epoch: keepEpoch, Name: name, Body: http.NoBody, Size: -1, NoData: true,
		Custom: rec.Custom, KeepVersion: rec.Version, KeepMtime: rec.Mtime, KeepEpoch: keepEpoch,
		Finish: func(m *ObjectMeta) error {
			m.Size, m.ChecksumType, m.Checksum = rec.Size, rec.ChecksumType, rec.Checksum
			m.EC = &ECInfo{Data: sr.Data, Parity: sr.Parity, Block: sr.Block, NoCopy: true, Replicated: sr.Kind == codec.KindReplica}
			return nil
		}})
	return err
}

// getSliced answers a GET or HEAD of an object whose bytes live only in its slices
// (ec.full_copy off): the D data slices are read from their targets in parallel and streamed
// in order, decoded only where one is missing. With validation the object is first rebuilt
// into a work file and checked against its checksum, so damaged bytes are never sent.
func (s *Server) getSliced(c echo.Context, b *meta.Bucket, m *ObjectMeta, validate bool) error {
	r := c.Request()
	ctx := r.Context()
	if r.Method == http.MethodHead || m.Size == 0 {
		return s.serveGroup(c, b, m, nil, false)
	}
	view := s.follower.Current()
	group, usable := pickGroup(s.findSlices(ctx, view, b, m.Name), m)
	if !usable {
		return fmt.Errorf("target: GET %s/%s: %w: %d slices of the version stored found", b.Key(), m.Name, meta.ErrTooFewSlices, len(group))
	}
	return s.serveGroup(c, b, m, group, validate)
}

// serveGroup streams the object a group of slices or replicas rebuilds, as described by m.
func (s *Server) serveGroup(c echo.Context, b *meta.Bucket, m *ObjectMeta, group []slicePiece, validate bool) error {
	r := c.Request()
	ctx := r.Context()
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
	if validate {
		sf, err := s.spool(b, m.Name)
		if err != nil {
			return err
		}
		defer sf.remove()
		hh, _ := codec.NewHash(m.ChecksumType)
		var w io.Writer = sf.f
		if hh != nil {
			w = io.MultiWriter(sf.f, hh)
		}
		if err := s.decodeTo(ctx, b, group, w, nil); err != nil {
			return err
		}
		if hh != nil && !bytes.Equal(hh.Sum(nil), m.Checksum) {
			return fmt.Errorf("target: GET %s/%s: %w: the object rebuilt from slices does not match its checksum",
				b.Key(), m.Name, meta.ErrCorrupt)
		}
		rf, err := sf.reopen()
		if err != nil {
			return err
		}
		defer rf.Close()
		c.Response().WriteHeader(status)
		_, err = io.Copy(c.Response().Writer, io.NewSectionReader(rf, off, n))
		return err
	}
	// Stream; the header goes out with the first byte, so an early failure is still an error
	// answer.
	win := &window{w: c.Response(), skip: off, left: n, status: status}
	err = s.decodeTo(ctx, b, group, win, nil)
	if err != nil && !win.started {
		return err
	}
	if err != nil {
		s.log.Error("GET from slices failed mid-stream", "object", m.Name, "err", err)
		panic(http.ErrAbortHandler) // cut the connection: the client sees a short body, not wrong bytes
	}
	return nil
}

// window passes bytes [skip, skip+left) of what is written to an HTTP response, writing the
// status before the first byte.
type window struct {
	w       *echo.Response
	skip    int64
	left    int64
	status  int
	started bool
}

func (w *window) Write(p []byte) (int, error) {
	n := len(p)
	if w.skip > 0 {
		k := min(int64(len(p)), w.skip)
		p, w.skip = p[k:], w.skip-k
	}
	if int64(len(p)) > w.left {
		p = p[:w.left]
	}
	if len(p) == 0 {
		return n, nil
	}
	if !w.started {
		w.started = true
		w.w.WriteHeader(w.status)
	}
	w.left -= int64(len(p))
	if _, err := w.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// ecFallback reports whether a request is a gateway's EC fallback read (api.QueryECFallback)
// for an object whose owner (owner, if not "") the client could not reach.
func ecFallback(r *http.Request, b *meta.Bucket, owner string) bool {
	if !b.Props.EC.Enabled || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	fb := api.QueryValue(r.URL.RawQuery, api.QueryECFallback)
	if fb == "" {
		return false
	}
	return owner == "" || fb == owner
}

// getFallback serves a GET or HEAD of an object this target does not own, from its replicas
// or slices, storing nothing: the owner is down and meta has not marked it so yet.
func (s *Server) getFallback(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	group, usable := pickGroup(s.findSlices(r.Context(), view, b, name), nil)
	if len(group) == 0 || s.deadGroup(r.Context(), b, name, group) {
		return fmt.Errorf("target: %s/%s: %w (its owner is unreachable and no slice or replica was found)",
			b.Key(), name, meta.ErrObjectNotFound)
	}
	if !usable {
		return fmt.Errorf("target: %s/%s: %w: its owner is unreachable and %d slices were found",
			b.Key(), name, meta.ErrTooFewSlices, len(group))
	}
	s.ec.fallback.Add(1)
	v := api.QueryValue(r.URL.RawQuery, "validate")
	validate := r.Method == http.MethodGet && (v == "true" || v == "1" || b.Props.Checksum.ValidateRead)
	return s.serveGroup(c, b, objectMetaOf(group[0].rec), group, validate)
}
