package target

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/aisfoundry/ais/meta"
)

// Store keeps objects on a target's mountpaths. It is safe for concurrent use.
type Store struct {
	fs       FS
	mpset    atomic.Pointer[mountpathSet] // mountpaths in use and being drained (mountpath.go)
	mpchange sync.Mutex                   // serializes changes of mpset
	failed   map[string]failedMountpath   // disabled because their disk failed; guarded by mpchange (mountpath_failed.go)
	lost     atomic.Pointer[[]string]     // the keys of failed, for readers that do not take mpchange
	now      func() time.Time
	log      *slog.Logger
	// versionFloor, if set, is asked before a new version is counted (not for copies): the
	// highest version of the object elsewhere in the cluster (neighbor.go).
	versionFloor func(ctx context.Context, b *meta.Bucket, name string) uint64
	// epochNow, if set, is the epoch of the target's newest view (a new write's stamp).
	epochNow func() uint64
	// afterPut, if set, runs after a write renamed an object into place: mirror copies
	// (mirror_jobs.go). An error fails the write (its object stays stored).
	afterPut func(ctx context.Context, b *meta.Bucket, epoch uint64, rec *ObjectMeta, teed int) error

	// locks serialize the metadata update and rename of one object (striped by name hash);
	// nobody holds one while a body streams.
	locks [256]sync.Mutex

	bmu struct {
		sync.Mutex
		// verified maps a bucket directory to the bucket ID its marker was last seen with.
		verified map[string]uint64
	}
	bufs sync.Pool // *[]byte of bufSize

	uploads uploadLocks // multipart uploads (mpu.go)
}

// bufSize is the size of the pooled buffers that bodies stream through.
const bufSize = 256 << 10

// xattrBucket marks a bucket directory with the bucket ID and the epoch it was created at.
//
// Versions: 1 (2025-06): version byte, bucket ID, epoch (both big-endian uint64).
const (
	xattrBucket     = "user.ais.bucket"
	bucketMarkerV1  = 1
	bucketMarkerLen = 17
)

// OpenStore prepares the mountpaths (creating them if needed), removes in-flight writes a
// previous run left behind, and checks that each file system keeps user extended attributes.
func OpenStore(fsys FS, mountpaths []string, now func() time.Time, log *slog.Logger) (*Store, error) {
	if fsys == nil {
		fsys = OSFS{}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{fs: fsys, now: now, log: log}
	s.bmu.verified = map[string]uint64{}
	s.bufs.New = func() any { b := make([]byte, bufSize); return &b }
	s.failed = s.loadFailed(mountpaths)
	set := &mountpathSet{}
	var bad []error
	for _, mp := range mountpaths {
		if fm, ok := s.failed[mp]; ok {
			log.Error("mountpath stays disabled: its disk failed; after repair, enable it", "mountpath", mp,
				"failed_at", fm.Time, "cause", fm.Error)
			set.disabled = append(set.disabled, mp)
			continue
		}
		if err := s.prepare(mp); err != nil {
			if !diskFault(err) {
				return nil, fmt.Errorf("target: mountpath %s: %w", mp, err)
			}
			// A dead disk does not keep the target down while it has others.
			log.Error("mountpath failed at start and is disabled; after repair, enable it", "mountpath", mp, "cause", err)
			s.failed[mp] = failedMountpath{Mountpath: mp, Time: now().UTC(), Error: err.Error()}
			set.disabled = append(set.disabled, mp)
			bad = append(bad, fmt.Errorf("target: mountpath %s: %w", mp, err))
			continue
		}
		set.active = append(set.active, mp)
	}
	if len(set.active) == 0 {
		return nil, fmt.Errorf("target: no usable mountpath: every one failed (%s/%s lists those that failed earlier): %v",
			sysDir, failedRecordName, errors.Join(bad...))
	}
	s.mpset.Store(set)
	s.noteFailedLocked()
	if len(bad) > 0 {
		s.saveFailedLocked(set)
	}
	return s, nil
}

func (s *Store) prepare(mp string) error {
	for _, d := range []string{mp, mp + "/" + sysDir, mp + "/" + trashDir} {
		if err := s.fs.MkdirAll(d); err != nil {
			return err
		}
	}
	work := mp + "/" + workDir
	if ents, err := s.fs.ReadDir(work); err == nil && len(ents) > 0 {
		s.log.Info("removing interrupted writes", "mountpath", mp, "count", len(ents))
	}
	if err := s.fs.RemoveAll(work); err != nil {
		return fmt.Errorf("remove stale work files: %w", err)
	}
	if err := s.fs.MkdirAll(work); err != nil {
		return err
	}
	return s.probeXattr(mp)
}

// probeXattr checks that the mountpath's file system stores user.* extended attributes.
func (s *Store) probeXattr(mp string) error {
	probe := mp + "/" + sysDir + "/xattr-probe"
	_ = s.fs.Remove(probe)
	f, err := s.fs.Create(probe)
	if err != nil {
		return err
	}
	defer func() { _ = s.fs.Remove(probe) }()
	err = f.SetXattr(xattrMeta, []byte("probe"))
	if err == nil {
		var v []byte
		v, err = f.GetXattr(xattrMeta)
		if err == nil && string(v) != "probe" {
			err = errors.New("value read back differs")
		}
	}
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("file system does not keep user extended attributes (%s): %w", xattrMeta, err)
	}
	return nil
}

// Mountpaths returns the store's mountpaths.
func (s *Store) Mountpaths() []string { return append([]string(nil), s.mountpaths()...) }

func (s *Store) lock(b *meta.Bucket, name string) *sync.Mutex {
	h := xxhash.Sum64String(meta.ObjectKey(b.Key(), name))
	return &s.locks[h%uint64(len(s.locks))]
}

func (s *Store) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *Store) putBuf(b *[]byte) { s.bufs.Put(b) }

// locate returns the mountpath and the file of an object.
func (s *Store) locate(b *meta.Bucket, name string) (mp, path string, err error) {
	mp = meta.Mountpath(meta.ObjectKey(b.Key(), name), s.mountpaths())
	path, err = objectPath(mp, b, name)
	return mp, path, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// bucketMarker is the decoded xattrBucket of a bucket directory.
type bucketMarker struct {
	id, epoch uint64
}

func (s *Store) readMarker(dir string) (bucketMarker, bool) {
	v, err := s.fs.GetXattr(dir, xattrBucket)
	if err != nil || len(v) != bucketMarkerLen || v[0] != bucketMarkerV1 {
		return bucketMarker{}, false
	}
	return bucketMarker{id: binary.BigEndian.Uint64(v[1:]), epoch: binary.BigEndian.Uint64(v[9:])}, true
}

func (s *Store) writeMarker(dir string, m bucketMarker) error {
	v := make([]byte, 0, bucketMarkerLen)
	v = append(v, bucketMarkerV1)
	v = binary.BigEndian.AppendUint64(v, m.id)
	v = binary.BigEndian.AppendUint64(v, m.epoch)
	return s.fs.SetXattr(dir, xattrBucket, v)
}

// ensureBucketDir makes sure the bucket's directory on mp exists and belongs to bucket ID b.ID,
// creating it lazily on the first PUT. A directory left by an older bucket of the same name is
// moved to the trash first. epoch is the epoch of the caller's view: a caller whose view is
// older than the directory's marker is told its epoch is stale.
func (s *Store) ensureBucketDir(mp string, b *meta.Bucket, epoch uint64) error {
	dir := bucketDir(mp, b.Provider, b.Name)
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if id, ok := s.bmu.verified[dir]; ok && id == b.ID {
		return nil
	}
	if fi, err := s.fs.Stat(dir); err == nil && fi.IsDir() {
		m, ok := s.readMarker(dir)
		switch {
		case ok && m.id == b.ID:
			s.bmu.verified[dir] = b.ID
			return nil
		case !ok:
			// A directory without a marker (copied in by hand): adopt it.
			if err := s.writeMarker(dir, bucketMarker{id: b.ID, epoch: epoch}); err != nil {
				return fmt.Errorf("target: mark bucket directory %s: %w", dir, err)
			}
			s.bmu.verified[dir] = b.ID
			return nil
		case epoch < m.epoch:
			return fmt.Errorf("%w: bucket %s was recreated at epoch %d; this request used epoch %d",
				meta.ErrStaleEpoch, b.Key(), m.epoch, epoch)
		}
		if err := s.trashLocked(mp, dir); err != nil {
			return err
		}
	}
	if err := s.fs.MkdirAll(dir); err != nil {
		return fmt.Errorf("target: create bucket directory: %w", err)
	}
	if err := s.writeMarker(dir, bucketMarker{id: b.ID, epoch: epoch}); err != nil {
		return fmt.Errorf("target: mark bucket directory %s: %w", dir, err)
	}
	for _, d := range []string{filepath.Dir(dir), mp} {
		if err := s.fs.SyncDir(d); err != nil {
			return fmt.Errorf("target: sync %s: %w", d, err)
		}
	}
	s.bmu.verified[dir] = b.ID
	return nil
}

// trashLocked moves a bucket directory into the trash, to be deleted in the background by
// EmptyTrash. bmu is held.
func (s *Store) trashLocked(mp, dir string) error {
	dst := fmt.Sprintf("%s/%s/%s.%d.%s", mp, trashDir, filepath.Base(dir), s.now().UnixNano(), randomHex(4))
	if err := s.fs.Rename(dir, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("target: move %s to the trash: %w", dir, err)
	}
	delete(s.bmu.verified, dir)
	s.log.Info("bucket directory moved to trash", "dir", dir)
	return nil
}

// SyncBuckets destroys, on every mountpath, the directories of buckets that the snapshot no
// longer has or has under another bucket ID, and returns how many it moved to the trash.
// A directory is destroyed only if the snapshot is at least as new as the epoch the directory
// was created at, so an old snapshot (from a lagging meta member) never removes data.
func (s *Store) SyncBuckets(snap *meta.Snapshot) (int, error) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	trashed := 0
	var errs []error
	for _, mp := range s.walkMountpaths() {
		root := mp + "/@" + string(meta.ProviderAIS)
		ents, err := s.fs.ReadDir(root)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			dir := root + "/" + e.Name()
			m, ok := s.readMarker(dir)
			if !ok || snap.Epoch < m.epoch {
				continue
			}
			if b, exists := snap.Bucket(meta.ProviderAIS, e.Name()); exists && b.ID == m.id {
				continue
			}
			if err := s.trashLocked(mp, dir); err != nil {
				errs = append(errs, err)
				continue
			}
			trashed++
		}
	}
	return trashed, errors.Join(errs...)
}

// EmptyTrash deletes everything in the trash of every mountpath.
func (s *Store) EmptyTrash(ctx context.Context) error {
	var errs []error
	for _, mp := range s.walkMountpaths() {
		dir := mp + "/" + trashDir
		ents, err := s.fs.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := s.fs.RemoveAll(dir + "/" + e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// notFoundErr reports whether a path error means "no object here": missing, a non-directory in
// the middle of the path, or a symlink where a file should be.
func notFoundErr(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP)
}
