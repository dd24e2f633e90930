package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// Checksum is a checksum type with its raw value.
type Checksum struct {
	Type  string
	Value []byte
}

// PutArgs describe one write of an object.
type PutArgs struct {
	Bucket *meta.Bucket
	// Epoch is the epoch of the view the bucket came from.
	Epoch uint64
	Name  string
	Body  io.Reader
	// Size is the announced length of Body (Content-Length), or -1 if unknown. A body that
	// ends early is meta.ErrIncompleteBody.
	Size int64
	// Want is the client's checksum, checked against the body; Type "" means none was sent.
	Want Checksum

	// The S3 API's additions (s3_put.go). Extra are more hashes fed in the same pass as the
	// bucket checksum (an MD5 for the ETag, an S3 checksum). Custom is the record's custom
	// metadata. Finish, if set, sees the record once the whole body is in and may complete
	// its Custom; an error refuses the write. Guard, if set, sees the record of the object
	// now stored (nil if none) under the object's lock just before the rename; an error
	// refuses the write (conditional PUT).
	Extra  []hash.Hash
	Custom map[string]string
	Finish func(rec *ObjectMeta) error
	Guard  func(cur *ObjectMeta) error

	// Copies of an object made by rebalance, resilver or a fetch from a neighbour keep the
	// source's version and mtime (KeepVersion, KeepMtime; a Guard decides whether the copy may
	// replace what is stored). BaseVersion makes a new version count up from at least it: the
	// highest version another target still holds during a rebalance (rebalance_store.go).
	KeepVersion uint64
	KeepMtime   int64
	KeepEpoch   uint64 // the source's write epoch (ObjectMeta.Epoch), with KeepVersion
	BaseVersion uint64

	// NoData streams and hashes the body without storing its bytes: the record (with its
	// EC layout set by Finish) stands for an object kept only as EC slices (ec_put.go).
	NoData bool
}

// Put writes an object with the write protocol: the body streams into a work file on the
// object's mountpath while it is hashed (one pass, no buffering of the whole object); the
// client's checksum is checked; the metadata record goes into the work file's xattr; the file
// is fsynced if the bucket asks for it; it is renamed over the object under the object's lock
// (the version counts up from the previous one); the directory is fsynced. Until the rename
// nothing is visible; on any failure the work file is removed and the previous version stays.
func (s *Store) Put(ctx context.Context, a PutArgs) (*ObjectMeta, error) {
	b, name := a.Bucket, a.Name
	fail := func(err error) (*ObjectMeta, error) {
		return nil, fmt.Errorf("target: put %s/%s: %w", b.Key(), name, err)
	}
	mp, path, err := s.locate(b, name)
	if err != nil {
		return fail(err)
	}
	path = s.dirObjectPath(path) // dirobj.go
	typ := b.Props.Checksum.Type
	if typ == "" {
		typ = meta.ChecksumHighway
	}
	bucketHash, err := codec.NewHash(typ)
	if err != nil {
		return fail(err)
	}
	hashes := make([]hash.Hash, 0, 2)
	if bucketHash != nil {
		hashes = append(hashes, bucketHash)
	}
	var wantHash hash.Hash
	switch {
	case a.Want.Type == "" || a.Want.Type == meta.ChecksumNone:
	case a.Want.Type == typ:
		wantHash = bucketHash
	default:
		if wantHash, err = codec.NewHash(a.Want.Type); err != nil {
			return fail(err)
		}
		hashes = append(hashes, wantHash)
	}
	hashes = append(hashes, a.Extra...)

	wf, err := s.createWork(mp)
	if err != nil {
		return fail(err)
	}
	defer wf.discard()
	f, work := wf.File, wf.path

	var dst io.Writer = f
	if a.NoData {
		dst = io.Discard
	}
	// A bucket with synchronous mirroring gets its other copies in the same pass (mirror_tee.go:
	// teeCopies); what fails there is left to the copy step after the rename.
	tees := s.teeCopies(b, name, mp, a.NoData)
	defer func() {
		for _, t := range tees {
			t.wf.discard()
		}
	}()
	if len(tees) > 0 {
		dst = &teeWriter{primary: f, tees: tees}
	}
	n, err := s.copyBody(ctx, dst, a.Body, hashes)
	if err != nil {
		return fail(err)
	}
	if a.Size >= 0 && n != a.Size {
		return fail(fmt.Errorf("%w: got %d of %d bytes", meta.ErrIncompleteBody, n, a.Size))
	}
	rec := &ObjectMeta{Name: name, BucketID: b.ID, Size: n, Mtime: s.now().UnixNano(), ChecksumType: typ}
	if bucketHash != nil {
		rec.Checksum = bucketHash.Sum(nil)
	}
	if wantHash != nil {
		if got := wantHash.Sum(nil); !bytes.Equal(got, a.Want.Value) {
			return fail(fmt.Errorf("%w: %s of the body is %x, the client sent %x",
				meta.ErrBadDigest, a.Want.Type, got, a.Want.Value))
		}
	}
	rec.Custom = a.Custom
	if a.KeepMtime != 0 {
		rec.Mtime = a.KeepMtime
	}
	rec.Epoch = a.Epoch
	if s.epochNow != nil {
		// A new write orders after everything this target has seen: a write admitted under
		// an older view that commits in a newer epoch must not order before a delete of that
		// newer epoch which it follows (copies order by write epoch first: rebalance_store.go).
		rec.Epoch = max(rec.Epoch, s.epochNow())
	}
	if a.KeepVersion != 0 {
		rec.Epoch = a.KeepEpoch
	}
	if a.Finish != nil {
		if err := a.Finish(rec); err != nil {
			return fail(err)
		}
	}

	if err := s.ensureBucketDir(mp, b, a.Epoch); err != nil {
		return fail(err)
	}
	root := bucketDir(mp, b.Provider, b.Name)
	created, err := s.makeParentEscaping(b, filepath.Dir(path), root)
	if err != nil && errors.Is(err, fs.ErrNotExist) && s.remakeBucketDir(mp, b, a.Epoch) { // mirror.go: a wiped disk
		created, err = s.makeParentEscaping(b, filepath.Dir(path), root)
	}
	if err != nil {
		return fail(placeErr(name, err))
	}

	// Write the record and sync outside the lock with a guessed version; fix it under the
	// lock in the rare case another writer renamed in between.
	fsync := b.Props.Write.Fsync
	if a.KeepVersion == 0 && s.versionFloor != nil {
		a.BaseVersion = max(a.BaseVersion, s.versionFloor(ctx, b, name))
	}
	rec.Version = a.nextVersion(s.currentVersion(path, b, name))
	if err := s.writeRecord(f, rec, fsync); err != nil {
		return fail(err)
	}
	tees = s.prepareTees(b, a.Epoch, rec, tees, fsync)
	mu := s.lock(b, name)
	mu.Lock()
	err = func() error {
		if a.Guard != nil {
			if err := a.Guard(s.currentMeta(path, b, name)); err != nil {
				return err
			}
		}
		if v := a.nextVersion(s.currentVersion(path, b, name)); v != rec.Version {
			rec.Version = v
			if err := s.writeRecord(f, rec, fsync); err != nil {
				return err
			}
			tees = s.prepareTees(b, a.Epoch, rec, tees, fsync)
		}
		for attempt := 0; ; attempt++ {
			err := s.fs.Rename(work, path)
			if errors.Is(err, syscall.EISDIR) && !isDirObject(path) {
				path += "/" + dirObjName // a directory took the name meanwhile (dirobj.go)
				continue
			}
			if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 2 {
				return err
			}
			// A concurrent delete pruned the (empty) parent directory: make it again.
			more, err := s.makeParent(filepath.Dir(path), root)
			if err != nil {
				return err
			}
			created = append(created, more...)
		}
	}()
	if err == nil {
		s.placeTees(b, name, rec, tees)
	}
	mu.Unlock()
	if err != nil {
		return fail(placeErr(name, err))
	}
	wf.kept = true
	if err := f.Close(); err != nil {
		s.log.Warn("close after rename", "object", name, "err", err)
	}
	if fsync {
		dirs := []string{filepath.Dir(path)}
		for _, d := range created {
			dirs = append(dirs, filepath.Dir(d))
		}
		for i, d := range dirs {
			if i > 0 && d == dirs[i-1] {
				continue
			}
			if err := s.fs.SyncDir(d); err != nil {
				return fail(fmt.Errorf("sync directory: %w", err))
			}
		}
	}
	teed := s.syncTees(tees, fsync)
	if s.afterPut != nil { // mirror_jobs.go: mirror copies
		if err := s.afterPut(ctx, b, a.Epoch, rec, teed); err != nil {
			return fail(err)
		}
	}
	return rec, nil
}

// workFile is a file being written under <mountpath>/.ais/work; it becomes an object, a copy
// or a part only when its writer renames it into place and sets kept.
type workFile struct {
	File
	path string
	fs   FS
	kept bool
}

// createWork creates a work file on mountpath mp.
func (s *Store) createWork(mp string) (*workFile, error) {
	path := mp + "/" + workDir + "/" + randomHex(12)
	f, err := s.fs.Create(path)
	if err != nil {
		return nil, err
	}
	return &workFile{File: f, path: path, fs: s.fs}, nil
}

// discard closes and removes the work file unless it was kept.
func (w *workFile) discard() {
	if !w.kept {
		_ = w.File.Close()
		_ = w.fs.Remove(w.path)
	}
}

// copyBody streams body into f through the hashes with a pooled buffer and returns the number
// of bytes written. A body read error is meta.ErrIncompleteBody.
func (s *Store) copyBody(ctx context.Context, f io.Writer, body io.Reader, hashes []hash.Hash) (int64, error) {
	bp := s.getBuf()
	defer s.putBuf(bp)
	buf := *bp
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("%w: %v", meta.ErrIncompleteBody, err)
		}
		k, rerr := body.Read(buf)
		if k > 0 {
			chunk := buf[:k]
			if _, err := f.Write(chunk); err != nil {
				return n, fmt.Errorf("write work file: %w", err)
			}
			for _, h := range hashes {
				h.Write(chunk)
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("%w: after %d bytes: %v", meta.ErrIncompleteBody, n, rerr)
		}
	}
}

func (s *Store) writeRecord(f File, rec *ObjectMeta, fsync bool) error {
	raw, err := encodeObjMeta(rec)
	if err != nil {
		return err
	}
	if err := f.SetXattr(xattrMeta, raw); err != nil {
		return err
	}
	if fsync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	return nil
}

// currentVersion returns the version of the object now stored at path, or 0 if there is none
// (or only one of another bucket, another name, or an unreadable record).
func (s *Store) currentVersion(path string, b *meta.Bucket, name string) uint64 {
	raw, err := s.fs.GetXattr(path, xattrMeta)
	if err != nil {
		return 0
	}
	m, err := decodeObjMeta(raw)
	if err != nil || m.BucketID != b.ID || m.Name != name {
		return 0
	}
	return m.Version
}

// makeParent is mkdirs that tries again when a concurrent delete pruned a directory it was
// building on, as long as root itself is there.
func (s *Store) makeParent(dir, root string) ([]string, error) {
	var all []string
	for attempt := 0; ; attempt++ {
		created, err := s.mkdirs(dir, root)
		all = append(all, created...)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 2 {
			return all, err
		}
		if _, serr := s.fs.Stat(root); serr != nil {
			return all, err
		}
	}
}

// mkdirs creates the missing directories from root (which must exist) down to dir and returns
// the ones it created, top first.
func (s *Store) mkdirs(dir, root string) ([]string, error) {
	var missing []string
	for d := dir; d != root; d = filepath.Dir(d) {
		if len(d) <= len(root) {
			return nil, fmt.Errorf("%s is not below %s", dir, root)
		}
		fi, err := s.fs.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, &fs.PathError{Op: "mkdir", Path: d, Err: syscall.ENOTDIR}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := s.fs.Mkdir(missing[i]); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// placeErr explains the failures of putting a complete work file in its place. An object
// cannot be stored where another object's name needs a directory, and the other way round; a
// bucket directory that vanished was destroyed under the write.
func placeErr(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: bucket directory vanished during the write (bucket destroyed?): %v",
			meta.ErrStaleEpoch, err)
	}
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("%w: %q: an object name cannot also be the directory part of another object's name (%v)",
			meta.ErrInvalidObjectName, name, err)
	}
	return err
}
