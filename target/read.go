package target

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// Object is an open stored object: its metadata and its file, positioned at the start. The
// caller closes it.
type Object struct {
	Meta *ObjectMeta
	File File
}

// Close closes the file.
func (o *Object) Close() error { return o.File.Close() }

// Open opens an object for reading. The metadata comes from the open file, so it describes
// exactly the bytes read even if a new version replaces the name meanwhile. A missing object,
// one written into an older bucket of the same name, or a file without metadata is
// meta.ErrObjectNotFound; a damaged record or a size that disagrees with it is meta.ErrCorrupt.
func (s *Store) Open(b *meta.Bucket, name string) (*Object, error) {
	fail := func(err error) (*Object, error) {
		return nil, fmt.Errorf("target: open %s/%s: %w", b.Key(), name, err)
	}
	mp, path, err := s.locate(b, name)
	if err != nil {
		return fail(err)
	}
	if s.mixed() {
		if o, err := s.OpenNewest(b, name); err == nil {
			return o, nil // mountpath.go: a mountpath came back with older copies, maybe
		}
	}
	f, err := s.fs.Open(path)
	var fi os.FileInfo
	if err == nil {
		if fi, err = f.Stat(); err == nil && fi.IsDir() { // the object is path/dirObjName (dirobj.go)
			_ = f.Close()
			fi = nil
			f, err = s.fs.Open(path + "/" + dirObjName)
		} else if err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		if notFoundErr(err) {
			if o := s.openElsewhere(b, name, mp); o != nil { // mountpath.go: a resilver has not moved it yet
				return o, nil
			}
			return fail(s.missing()) // mountpath_failed.go
		}
		return fail(err)
	}
	m, err := s.checkOpen(f, fi, b, name)
	if err != nil {
		_ = f.Close()
		return fail(err)
	}
	return &Object{Meta: m, File: f}, nil
}

// checkOpen reads and checks the metadata of the object file f; fi is f's Stat if the caller
// has it already (nil: checkOpen asks).
func (s *Store) checkOpen(f File, fi os.FileInfo, b *meta.Bucket, name string) (*ObjectMeta, error) {
	if fi == nil {
		var err error
		if fi, err = f.Stat(); err != nil {
			return nil, err
		}
	}
	if !fi.Mode().IsRegular() {
		return nil, meta.ErrObjectNotFound
	}
	raw, err := f.GetXattr(xattrMeta)
	if errors.Is(err, errNoXattr) {
		return nil, meta.ErrObjectNotFound
	}
	if err != nil {
		return nil, err
	}
	m, err := decodeObjMeta(raw)
	if err != nil {
		return nil, err
	}
	if m.BucketID != b.ID || m.Name != name {
		return nil, meta.ErrObjectNotFound
	}
	if fi.Size() != m.Size && !(m.EC.Sliced() && fi.Size() == 0) { // a sliced object keeps no bytes here (ec_meta.go)
		return nil, fmt.Errorf("%w: file holds %d bytes, metadata says %d", meta.ErrCorrupt, fi.Size(), m.Size)
	}
	return m, nil
}

// Verify re-reads the whole object and compares its checksum with the stored one; a mismatch
// is meta.ErrCorrupt. It reads with ReadAt and leaves the file offset alone.
func (s *Store) Verify(o *Object) error {
	m := o.Meta
	h, err := codec.NewHash(m.ChecksumType)
	if err != nil || h == nil {
		return err
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	n, err := io.CopyBuffer(h, io.NewSectionReader(o.File, 0, m.Size+1), *bp)
	if err != nil {
		return fmt.Errorf("target: verify %s: %w", m.Name, err)
	}
	if n != m.Size {
		return fmt.Errorf("target: verify %s: %w: read %d bytes, metadata says %d", m.Name, meta.ErrCorrupt, n, m.Size)
	}
	if got := h.Sum(nil); !bytes.Equal(got, m.Checksum) {
		return fmt.Errorf("target: verify %s: %w: %s is %x, stored %x", m.Name, meta.ErrCorrupt, m.ChecksumType, got, m.Checksum)
	}
	return nil
}

// Delete removes an object and the directories its removal leaves empty. A missing object
// (also one of an older bucket of the same name) is meta.ErrObjectNotFound; an object whose
// record is damaged is removed all the same.
func (s *Store) Delete(b *meta.Bucket, name string, fsync bool) error {
	fail := func(err error) error { return fmt.Errorf("target: delete %s/%s: %w", b.Key(), name, err) }
	mp, path, err := s.locate(b, name)
	if err != nil {
		return fail(err)
	}
	path = s.dirObjectPath(path) // dirobj.go
	mu := s.lock(b, name)
	mu.Lock()
	err = func() error {
		fi, err := s.fs.Stat(path)
		if err != nil {
			if notFoundErr(err) {
				return meta.ErrObjectNotFound
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			return meta.ErrObjectNotFound
		}
		raw, err := s.fs.GetXattr(path, xattrMeta)
		if errors.Is(err, errNoXattr) {
			return meta.ErrObjectNotFound
		}
		if err != nil {
			return err
		}
		if m, err := decodeObjMeta(raw); err == nil && (m.BucketID != b.ID || m.Name != name) {
			return meta.ErrObjectNotFound
		}
		return s.fs.Remove(path)
	}()
	mu.Unlock()
	if s.removeElsewhere(b, name, mp, fsync) && errors.Is(err, meta.ErrObjectNotFound) { // mountpath.go
		return nil
	}
	if err != nil {
		return fail(err)
	}
	// Prune directories left empty (best effort: a directory that is not empty, or that a
	// concurrent PUT is filling, stays).
	root := bucketDir(mp, b.Provider, b.Name)
	last := filepath.Dir(path)
	for d := last; len(d) > len(root); d = filepath.Dir(d) {
		if s.fs.Remove(d) != nil {
			break
		}
		last = filepath.Dir(d)
	}
	if fsync {
		if err := s.fs.SyncDir(last); err != nil {
			return fail(fmt.Errorf("sync directory: %w", err))
		}
	}
	return nil
}
