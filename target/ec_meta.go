package target

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// ECInfo is the EC layout an object's record keeps (object metadata version 2).
type ECInfo struct {
	Data, Parity, Block int
	// Replicated: the object is below ec.objsize_limit and has Parity+1 whole replicas on
	// other targets instead of slices.
	Replicated bool
	// NoCopy: ec.full_copy was off; the owner keeps only this record (a file of 0 bytes)
	// and the bytes live in the slices.
	NoCopy bool
}

const (
	ecFlagNoCopy     = 1
	ecFlagReplicated = 2
)

// Sliced reports whether the object's bytes live only in its slices (nil-safe).
func (e *ECInfo) Sliced() bool { return e != nil && e.NoCopy }

func (e *ECInfo) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(e.Data))
	b = binary.AppendUvarint(b, uint64(e.Parity))
	b = binary.AppendUvarint(b, uint64(e.Block))
	var flags byte
	if e.NoCopy {
		flags |= ecFlagNoCopy
	}
	if e.Replicated {
		flags |= ecFlagReplicated
	}
	return append(b, flags)
}

func parseECInfo(r []byte) (*ECInfo, []byte) {
	var v [3]uint64
	for i := range v {
		x, k := binary.Uvarint(r)
		if k <= 0 || x > 1<<30 {
			return nil, r
		}
		v[i], r = x, r[k:]
	}
	if len(r) < 1 {
		return nil, r
	}
	e := &ECInfo{Data: int(v[0]), Parity: int(v[1]), Block: int(v[2]),
		NoCopy: r[0]&ecFlagNoCopy != 0, Replicated: r[0]&ecFlagReplicated != 0}
	return e, r[1:]
}

// ecDir is where a mountpath keeps EC slices and replicas (ARCHITECTURE.md section 7): under
// it, the same "@provider/bucket/object" tree as objects, so listings and rebalance walks of
// the object tree never see a slice.
const ecDir = ".ais/ec"

// xattrSlice holds a slice's or replica's codec.SliceMeta record.
const xattrSlice = "user.ais.ec"

// slicePath returns the mountpath and file of this target's slice or replica of an object.
func (s *Store) slicePath(b *meta.Bucket, name string) (mp, path string, err error) {
	mp = meta.Mountpath(meta.ObjectKey(b.Key(), name), s.mountpaths())
	path, err = objectPath(mp+"/"+ecDir, b, name)
	return mp, path, err
}

// PutSlice stores a slice or replica: the body streams into a work file while it is hashed;
// rec (which may arrive only after the body, as a trailer: final is called once the body is
// in) must match the bytes (size and slice checksum), then it is renamed into place,
// replacing an older one. A mismatch is meta.ErrBadDigest.
func (s *Store) PutSlice(ctx context.Context, b *meta.Bucket, name string, body io.Reader,
	final func() (*codec.SliceMeta, error)) (*codec.SliceMeta, error) {
	fail := func(err error) (*codec.SliceMeta, error) {
		return nil, fmt.Errorf("target: put slice %s/%s: %w", b.Key(), name, err)
	}
	mp, path, err := s.slicePath(b, name)
	if err != nil {
		return fail(err)
	}
	h, _ := codec.NewHash(meta.ChecksumHighway)
	wf, err := s.createWork(mp)
	if err != nil {
		return fail(err)
	}
	defer wf.discard()
	f, work := wf.File, wf.path
	n, err := s.copyBody(ctx, f, body, []hash.Hash{h})
	if err != nil {
		return fail(err)
	}
	rec, err := final()
	if err != nil {
		return fail(err)
	}
	if rec.BucketID != b.ID || rec.Name != name {
		return fail(fmt.Errorf("%w: slice record names %d/%q", meta.ErrInvalidRequest, rec.BucketID, rec.Name))
	}
	if n != rec.StoredSize() {
		return fail(fmt.Errorf("%w: slice of %d bytes, its record says %d", meta.ErrBadDigest, n, rec.StoredSize()))
	}
	if got := h.Sum(nil); !bytes.Equal(got, rec.SliceChecksum) {
		return fail(fmt.Errorf("%w: slice checksum %x, its record says %x", meta.ErrBadDigest, got, rec.SliceChecksum))
	}
	if err := f.SetXattr(xattrSlice, codec.EncodeSliceMeta(rec)); err != nil {
		return fail(err)
	}
	fsync := b.Props.Write.Fsync
	if fsync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	root := mp + "/" + ecDir
	if err := s.fs.MkdirAll(filepath.Dir(path)); err != nil {
		return fail(err)
	}
	mu := s.lock(b, "\x00ec/"+name)
	mu.Lock()
	err = s.fs.Rename(work, path)
	mu.Unlock()
	if err != nil {
		return fail(err)
	}
	wf.kept = true
	_ = f.Close()
	if fsync {
		_ = s.fs.SyncDir(filepath.Dir(path))
		_ = root
	}
	return rec, nil
}

// OpenSlice opens this target's slice or replica of an object; the file is positioned at the
// start. None is meta.ErrObjectNotFound; a damaged record or a size that disagrees with it is
// meta.ErrCorrupt.
func (s *Store) OpenSlice(b *meta.Bucket, name string) (*codec.SliceMeta, File, error) {
	_, path, err := s.slicePath(b, name)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.fs.Open(path)
	if err != nil {
		if notFoundErr(err) {
			return nil, nil, fmt.Errorf("target: slice %s/%s: %w", b.Key(), name, meta.ErrObjectNotFound)
		}
		return nil, nil, err
	}
	rec, err := s.checkSlice(f, b, name)
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("target: slice %s/%s: %w", b.Key(), name, err)
	}
	return rec, f, nil
}

func (s *Store) checkSlice(f File, b *meta.Bucket, name string) (*codec.SliceMeta, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, meta.ErrObjectNotFound
	}
	raw, err := f.GetXattr(xattrSlice)
	if errors.Is(err, errNoXattr) {
		return nil, meta.ErrObjectNotFound
	}
	if err != nil {
		return nil, err
	}
	rec, err := codec.DecodeSliceMeta(raw)
	if err != nil {
		return nil, err
	}
	if rec.BucketID != b.ID || rec.Name != name {
		return nil, meta.ErrObjectNotFound
	}
	if fi.Size() != rec.StoredSize() {
		return nil, fmt.Errorf("%w: slice file holds %d bytes, its record says %d", meta.ErrCorrupt, fi.Size(), rec.StoredSize())
	}
	return rec, nil
}

// VerifySlice re-reads a slice and compares it with its checksum.
func (s *Store) VerifySlice(rec *codec.SliceMeta, f File) error {
	h, _ := codec.NewHash(meta.ChecksumHighway)
	n, err := io.Copy(h, io.NewSectionReader(f, 0, rec.StoredSize()+1))
	if err != nil {
		return err
	}
	if n != rec.StoredSize() || !bytes.Equal(h.Sum(nil), rec.SliceChecksum) {
		return fmt.Errorf("target: slice %d of %s: %w", rec.Index, rec.Name, meta.ErrCorrupt)
	}
	return nil
}

// RemoveSlice removes this target's slice or replica of an object (if any) and reports
// whether there was one.
func (s *Store) RemoveSlice(b *meta.Bucket, name string) (bool, error) {
	mp, path, err := s.slicePath(b, name)
	if err != nil {
		return false, err
	}
	mu := s.lock(b, "\x00ec/"+name)
	mu.Lock()
	err = s.fs.Remove(path)
	mu.Unlock()
	if err != nil {
		if notFoundErr(err) {
			return false, nil
		}
		return false, err
	}
	root := mp + "/" + ecDir
	for d := filepath.Dir(path); len(d) > len(root) && filepath.Base(d) != b.Name; d = filepath.Dir(d) {
		if s.fs.Remove(d) != nil {
			break
		}
	}
	return true, nil
}

// SliceBytes sums the bytes of the slices and replicas this target keeps of a bucket.
func (s *Store) SliceBytes(b *meta.Bucket) (files, bytes int64) {
	for _, mp := range s.mountpaths() {
		root := bucketDir(mp+"/"+ecDir, b.Provider, b.Name)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					files++
					bytes += fi.Size()
				}
			}
			return nil
		})
	}
	return files, bytes
}

// WalkSlices calls fn with the record of every slice and replica of bucket b on this target.
func (s *Store) WalkSlices(ctx context.Context, b *meta.Bucket, fn func(rec *codec.SliceMeta) error) error {
	for _, mp := range s.mountpaths() {
		root := bucketDir(mp+"/"+ecDir, b.Provider, b.Name)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if notFoundErr(err) {
					return nil
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !d.Type().IsRegular() {
				return nil
			}
			raw, err := s.fs.GetXattr(p, xattrSlice)
			if err != nil {
				return nil
			}
			rec, err := codec.DecodeSliceMeta(raw)
			if err != nil || rec.BucketID != b.ID {
				return nil
			}
			return fn(rec)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
