package target

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// ecPeers returns the targets that hold an object's slices (or replicas) at view: the next
// ones after the owner in HRW order. It is meta.ErrUnavailable when the cluster has too few.
func ecPeers(view *api.View, b *meta.Bucket, name string, replicate bool) ([]meta.Node, error) {
	ec := b.Props.EC
	need := ec.Data + ec.Parity
	if replicate {
		need = ec.Parity + 1
	}
	order := view.Placement.Order(meta.ObjectKey(b.Key(), name), need+1)
	if len(order) < need+1 {
		return nil, fmt.Errorf("%w: EC %d+%d of %s needs %d targets besides the owner; %d are active at epoch %d",
			meta.ErrUnavailable, ec.Data, ec.Parity, b.Key(), need, len(order)-1, view.Snap.Epoch)
	}
	return order[1:], nil
}

// replicated reports whether an object of size bytes gets whole replicas instead of slices.
func replicated(b *meta.Bucket, size int64) bool { return size < b.Props.EC.ObjSizeLimit }

// sliceTemplate is the record of slice (or replica) i of an object, without the checksums.
func sliceTemplate(b *meta.Bucket, rec *ObjectMeta, i int, replicate bool) *codec.SliceMeta {
	ec := b.Props.EC
	m := &codec.SliceMeta{Kind: codec.KindSlice, Index: i, Data: ec.Data, Parity: ec.Parity, Block: codec.DefaultBlock,
		BucketID: b.ID, Name: rec.Name, ObjSize: rec.Size, ObjVersion: rec.Version, ObjMtime: rec.Mtime,
		ObjChecksumType: rec.ChecksumType, ObjChecksum: rec.Checksum, Custom: rec.Custom}
	if replicate {
		m.Kind, m.Index = codec.KindReplica, 0
	}
	return m
}

func ecInfo(b *meta.Bucket, replicate bool) *ECInfo {
	ec := b.Props.EC
	return &ECInfo{Data: ec.Data, Parity: ec.Parity, Block: codec.DefaultBlock, Replicated: replicate, NoCopy: !ec.FullCopy}
}

// putEC answers a PUT into an EC bucket: the body streams into the owner's file (unless
// ec.full_copy is off) and, through a tee, into the encoder, whose D+P slices (or P+1 whole
// replicas of an object below ec.objsize_limit) stream to the next targets in HRW order at
// the same time; no byte is read twice. The PUT answers once the owner's copy and every slice
// are stored. A body of unknown length is stored first and encoded from the file after.
func (s *Server) putEC(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	ctx := r.Context()
	want, err := clientChecksum(r.Header, b.Props.Checksum.Type)
	if err != nil {
		return err
	}
	size := r.ContentLength
	if size < 0 {
		m, err := s.store.Put(ctx, PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name, Body: r.Body, Size: -1, Want: want})
		if err != nil {
			return err
		}
		if err := s.encodeStored(ctx, view, b, name, nil, nil); err != nil {
			return err
		}
		setObjectHeaders(c.Response().Header(), m)
		return c.NoContent(http.StatusOK)
	}
	replicate := replicated(b, size)
	peers, err := ecPeers(view, b, name, replicate)
	if err != nil {
		return err
	}
	// The version and mtime go into every slice's record before the first byte is sent.
	pre := &ObjectMeta{Name: name, BucketID: b.ID, Size: size, Version: s.peekVersion(ctx, b, name),
		Mtime: s.clock.Now().UnixNano()}
	senders := make([]*sliceSender, len(peers))
	hashes := make([]hash.Hash, len(peers))
	ws := make([]io.Writer, len(peers))
	for i, n := range peers {
		senders[i] = s.startSlice(ctx, n, b, name, sliceTemplate(b, pre, i, replicate), nil)
		hashes[i], _ = codec.NewHash(meta.ChecksumHighway)
		ws[i] = io.MultiWriter(senders[i], hashes[i])
	}
	var sink io.Writer
	var enc *codec.Encoder
	if replicate {
		sink = io.MultiWriter(ws...)
	} else {
		if enc, err = codec.NewEncoder(b.Props.EC.Data, b.Props.EC.Parity, codec.DefaultBlock, ws); err != nil {
			for _, ss := range senders {
				ss.abort(err)
			}
			return err
		}
		sink = enc
	}
	finished := false
	m, err := s.store.Put(ctx, PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name, Body: io.TeeReader(r.Body, sink),
		Size: size, Want: want, KeepVersion: pre.Version, KeepMtime: pre.Mtime, NoData: !b.Props.EC.FullCopy,
		Finish: func(rec *ObjectMeta) error {
			finished = true
			rec.EC = ecInfo(b, replicate)
			if enc != nil {
				if err := enc.Close(); err != nil {
					for _, ss := range senders {
						ss.abort(err)
					}
					return err
				}
			}
			var errs []error
			for i, ss := range senders {
				sm := sliceTemplate(b, rec, i, replicate)
				sm.ObjVersion = pre.Version // Put sets rec.Version after Finish: to this (KeepVersion)
				sm.SliceChecksum = hashes[i].Sum(nil)
				if err := ss.finish(sm); err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("%w: EC slices not stored: %v", meta.ErrUnavailable, err)
			}
			return nil
		}})
	if !finished {
		for _, ss := range senders {
			ss.abort(fmt.Errorf("target: the PUT failed: %v", err))
		}
	}
	if err != nil {
		return err
	}
	s.ec.encoded.Add(1)
	setObjectHeaders(c.Response().Header(), m)
	return c.NoContent(http.StatusOK)
}

// peekVersion is the version the next write of an object will store (as Put would count it).
func (s *Server) peekVersion(ctx context.Context, b *meta.Bucket, name string) uint64 {
	var cur uint64
	if m := s.store.NewestMeta(b, name); m != nil {
		cur = m.Version
	}
	if s.store.versionFloor != nil {
		cur = max(cur, s.store.versionFloor(ctx, b, name))
	}
	return cur + 1
}

// encodeStored reads the owner's stored copy of an object once and sends its slices (or
// replicas) to their places at view: all of them, or only the indexes in only (ec-repair).
// It adds the EC layout to the object's record if it lacks it (ec-encode). f fences a job's
// writes.
func (s *Server) encodeStored(ctx context.Context, view *api.View, b *meta.Bucket, name string, only map[int]bool, f *ecFence) error {
	obj, err := s.store.Open(b, name)
	if err != nil {
		return err
	}
	defer obj.Close()
	rec := obj.Meta
	if rec.EC.Sliced() {
		return fmt.Errorf("target: encode %s/%s: %w: no full copy here", b.Key(), name, meta.ErrObjectNotFound)
	}
	replicate := replicated(b, rec.Size)
	if rec.EC != nil {
		replicate = rec.EC.Replicated
	}
	peers, err := ecPeers(view, b, name, replicate)
	if err != nil {
		return err
	}
	k := len(peers)
	hashes := make([]hash.Hash, k)
	files := make([]*spoolFile, k)
	ws := make([]io.Writer, k)
	// Slices are spooled to work files first so each can be sent with its final record in
	// the header; the object itself is read once.
	defer func() {
		for _, sf := range files {
			if sf != nil {
				sf.remove()
			}
		}
	}()
	for i := range peers {
		if only != nil && !only[i] {
			continue
		}
		if files[i], err = s.spool(b, name); err != nil {
			return err
		}
		hashes[i], _ = codec.NewHash(meta.ChecksumHighway)
		ws[i] = io.MultiWriter(files[i].f, hashes[i])
	}
	oh, err := codec.NewHash(rec.ChecksumType)
	if err != nil {
		return err
	}
	var src io.Reader = io.NewSectionReader(obj.File, 0, rec.Size)
	if oh != nil {
		src = io.TeeReader(src, oh)
	}
	if replicate {
		var live []io.Writer
		for _, w := range ws {
			if w != nil {
				live = append(live, w)
			}
		}
		if _, err := io.Copy(io.MultiWriter(live...), src); err != nil {
			return err
		}
	} else {
		enc, err := codec.NewEncoder(b.Props.EC.Data, b.Props.EC.Parity, codec.DefaultBlock, ws)
		if err != nil {
			return err
		}
		if _, err := io.Copy(enc, src); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	if err := verifyObject(rec, oh); err != nil {
		return err
	}
	info := ecInfo(b, replicate)
	info.NoCopy = false
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	var sent int64
	for i, n := range peers {
		if files[i] == nil {
			continue
		}
		g.Go(func() error {
			sm := sliceTemplate(b, rec, i, replicate)
			sm.SliceChecksum = hashes[i].Sum(nil)
			rf, err := files[i].reopen()
			if err != nil {
				return err
			}
			defer rf.Close()
			if err := s.putSliceFrom(gctx, n, b, sm, io.NewSectionReader(rf, 0, sm.StoredSize()), f, false); err != nil {
				return err
			}
			mu.Lock()
			sent += sm.StoredSize()
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.ec.sentBytes.Add(sent)
	if rec.EC == nil {
		return s.store.setECInfo(b, name, rec, info)
	}
	return nil
}

// sendStub moves the owner's record of an object kept only as slices (ec.full_copy off) to
// its new owner during a rebalance.
func (s *Server) sendStub(ctx context.Context, dest meta.Node, b *meta.Bucket, m *ObjectMeta) (balancer.Outcome, error) {
	sm := sliceTemplate(b, m, 0, m.EC.Replicated)
	sm.Data, sm.Parity, sm.Block = m.EC.Data, m.EC.Parity, m.EC.Block
	if err := s.putSliceFrom(ctx, dest, b, sm, nil, nil, true); err != nil {
		return 0, fmt.Errorf("target: send EC record of %s to %s: %w", m.Name, dest.ID, err)
	}
	return balancer.Stored, nil
}

// ecAfterWrite encodes an object of an EC bucket just written by a path that does not tee
// into the encoder (S3 PutObject, CompleteMultipartUpload): it reads the stored file once more.
func (s *Server) ecAfterWrite(ctx context.Context, view *api.View, b *meta.Bucket, name string) error {
	if !b.Props.EC.Enabled {
		return nil
	}
	return s.encodeStored(ctx, view, b, name, nil, nil)
}
