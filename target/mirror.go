package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// Mirroring (docs/protection.md): a bucket with mirror.copies = n keeps each object on the
// first n of its owner's mountpaths in HRW order (meta.MountpathOrder), at the same relative
// path, each copy a plain file with its own record (same version, mtime and checksum). The
// first is the primary, where Put writes; the others are made from it, right after the PUT
// (async, mirror_queue.go) or before the PUT answers (mirror.sync). A copy is valid only if it
// has the primary's version: a new write removes older copies before it answers, and a copy is
// renamed into place only while the primary still has its version, under the object's lock.

// errCopyStale refuses a copy whose source is no longer the object's current version.
var errCopyStale = errors.New("target: the object changed while its copy was made")

// copiesOf is how many copies of b's objects this target keeps: mirror.copies, capped at the
// number of mountpaths in use.
func (s *Store) copiesOf(b *meta.Bucket) int {
	return max(1, min(b.Props.Mirror.Copies, len(s.mountpaths())))
}

// copyOrder returns the mountpaths that hold an object's copies, the primary first.
func (s *Store) copyOrder(b *meta.Bucket, name string) []string {
	order := meta.MountpathOrder(meta.ObjectKey(b.Key(), name), s.mountpaths())
	return order[:s.copiesOf(b)]
}

// isMirrorCopy reports whether a resilver should leave the copy it walked where it is: one of
// a mirrored object's copies on a mountpath of its copyOrder (not a misplaced object).
func (s *Store) isMirrorCopy(b *meta.Bucket, it balancer.Item) bool {
	return s.copiesOf(b) > 1 && slices.Contains(s.copyOrder(b, it.Name), it.Mountpath)
}

// redundantCopy reports whether a rebalance should not send the copy it walked: a copy
// other than the primary while the primary mountpath holds the same version (the object moves
// once, from there, and its other copies are removed with it: removeMirrorCopies).
func (s *Store) redundantCopy(b *meta.Bucket, it balancer.Item) bool {
	primary := meta.Mountpath(it.Key(), s.mountpaths())
	if it.Mountpath == primary {
		return false
	}
	path, err := s.copyPath(primary, b, it.Name)
	if err != nil {
		return false
	}
	pm := s.currentMeta(path, b, it.Name)
	return pm != nil && pm.Version == it.Version && pm.Mtime == it.Mtime
}

// removeMirrorCopies removes the copies of a moved object on mountpaths other than the one it
// was sent from, if they still hold the version sent.
func (s *Store) removeMirrorCopies(b *meta.Bucket, it balancer.Item) error {
	var errs []error
	for _, mp := range s.walkMountpaths() {
		if mp == it.Mountpath {
			continue
		}
		if err := s.RemoveCopy(mp, b, it.Name, it.Version, it.Mtime, b.Props.Write.Fsync); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dropStaleCopies removes, on every other mountpath, the copies of an object that differ from
// what its primary now holds (rec was just written there; a newer write may have followed), so
// that no older copy can be read, or restored, in its place. A copy of a newer write that
// raced ahead stays.
func (s *Store) dropStaleCopies(b *meta.Bucket, rec *ObjectMeta, fsync bool) {
	primary := meta.Mountpath(meta.ObjectKey(b.Key(), rec.Name), s.mountpaths())
	pp, err := s.copyPath(primary, b, rec.Name)
	if err != nil {
		return
	}
	for _, mp := range s.walkMountpaths() {
		if mp == primary {
			continue
		}
		path, err := s.copyPath(mp, b, rec.Name)
		if err != nil {
			return
		}
		mu := s.lock(b, rec.Name)
		mu.Lock()
		removed := false
		if cur := s.currentMeta(path, b, rec.Name); cur != nil {
			pm := s.currentMeta(pp, b, rec.Name)
			if pm == nil {
				pm = rec // deleted meanwhile: the DELETE removes every copy itself
			}
			if cur.Version != pm.Version || cur.Mtime != pm.Mtime {
				removed = s.fs.Remove(path) == nil
			}
		}
		mu.Unlock()
		if removed {
			s.prune(mp, b, path, fsync)
		}
	}
}

// ensureCopyDir is ensureBucketDir for a copy: a bucket directory that vanished under the
// store's feet (a wiped or replaced disk) is made again.
func (s *Store) ensureCopyDir(mp string, b *meta.Bucket, epoch uint64) error {
	s.remakeBucketDir(mp, b, epoch)
	return s.ensureBucketDir(mp, b, epoch)
}

// remakeBucketDir makes a bucket directory again that the store had checked and that vanished
// without the store removing it (a wiped or replaced disk, not a destroyed bucket: that one's
// directory went to the trash and is no longer checked), and reports whether it did.
func (s *Store) remakeBucketDir(mp string, b *meta.Bucket, epoch uint64) bool {
	dir := bucketDir(mp, b.Provider, b.Name)
	s.bmu.Lock()
	id, ok := s.bmu.verified[dir]
	if !ok || id != b.ID {
		s.bmu.Unlock()
		return false
	}
	if _, err := s.fs.Stat(dir); err == nil || !notFoundErr(err) {
		s.bmu.Unlock()
		return false
	}
	delete(s.bmu.verified, dir)
	s.bmu.Unlock()
	s.log.Warn("bucket directory vanished from a mountpath; making it again", "dir", dir)
	return s.ensureBucketDir(mp, b, epoch) == nil
}

// putCopy writes the object src (an open copy) to mountpath mp with the write protocol: the
// bytes stream into a work file while they are hashed and must match src's checksum (a damaged
// source is meta.ErrCorrupt and nothing is written); the record is src's; the file is renamed
// into place under the object's lock unless the copy there is newer, or (for a copy other
// than the primary) the primary no longer has src's version (errCopyStale).
func (s *Store) putCopy(ctx context.Context, mp string, b *meta.Bucket, epoch uint64, src *Object) error {
	m := src.Meta
	fail := func(err error) error { return fmt.Errorf("target: copy %s/%s to %s: %w", b.Key(), m.Name, mp, err) }
	path, err := s.copyPath(mp, b, m.Name)
	if err != nil {
		return fail(err)
	}
	h, err := codec.NewHash(m.ChecksumType)
	if err != nil {
		return fail(err)
	}
	var hashes []hash.Hash
	if h != nil {
		hashes = append(hashes, h)
	}
	wf, err := s.createWork(mp)
	if err != nil {
		return fail(err)
	}
	defer wf.discard()
	f, work := wf.File, wf.path
	n, err := s.copyBody(ctx, f, io.NewSectionReader(src.File, 0, m.Size+1), hashes)
	if err != nil {
		return fail(err)
	}
	if n != m.Size {
		return fail(fmt.Errorf("%w: source holds %d bytes, its record says %d", meta.ErrCorrupt, n, m.Size))
	}
	if h != nil && !bytes.Equal(h.Sum(nil), m.Checksum) {
		return fail(fmt.Errorf("%w: source's %s does not match its record", meta.ErrCorrupt, m.ChecksumType))
	}
	if err := s.ensureCopyDir(mp, b, epoch); err != nil {
		return fail(err)
	}
	root := bucketDir(mp, b.Provider, b.Name)
	created, err := s.makeParentEscaping(b, filepath.Dir(path), root)
	if err != nil {
		return fail(placeErr(m.Name, err))
	}
	rec := *m
	fsync := b.Props.Write.Fsync
	if err := s.writeRecord(f, &rec, fsync); err != nil {
		return fail(err)
	}
	primary := meta.Mountpath(meta.ObjectKey(b.Key(), m.Name), s.mountpaths())
	mu := s.lock(b, m.Name)
	mu.Lock()
	err = func() error {
		if cur := s.currentMeta(path, b, m.Name); cur != nil && newerCopy(cur.stamp(), m) {
			return errCopyKept
		}
		if mp != primary {
			pp, err := s.copyPath(primary, b, m.Name)
			if err != nil {
				return err
			}
			if pm := s.currentMeta(pp, b, m.Name); pm == nil || pm.Version != m.Version || pm.Mtime != m.Mtime {
				return errCopyStale
			}
		}
		err := s.fs.Rename(work, path)
		if errors.Is(err, syscall.EISDIR) && !isDirObject(path) {
			path += "/" + dirObjName
			err = s.fs.Rename(work, path)
		}
		return err
	}()
	mu.Unlock()
	if err != nil {
		if errors.Is(err, errCopyKept) || errors.Is(err, errCopyStale) {
			return err
		}
		return fail(placeErr(m.Name, err))
	}
	wf.kept = true
	_ = f.Close()
	if fsync {
		dirs := []string{filepath.Dir(path)}
		for _, d := range created {
			dirs = append(dirs, filepath.Dir(d))
		}
		for _, d := range slices.Compact(dirs) {
			if err := s.fs.SyncDir(d); err != nil {
				return fail(fmt.Errorf("sync directory: %w", err))
			}
		}
	}
	return nil
}

// copyReport says what ensureCopies found and did for one object.
type copyReport struct {
	Size          int64
	Damaged       bool  // a copy was corrupt, missing or older than the newest
	Restored      bool  // ... and every copy is valid again
	Unrecoverable bool  // no valid copy is left
	Made, Removed int   // copies written and extra copies removed
	MadeBytes     int64 // bytes written
}

// copyState is one mountpath's copy of an object as ensureCopies sees it.
type copyState struct {
	mp      string
	obj     *Object // nil: missing or damaged
	bad     bool    // present but damaged
	written bool    // ensureCopies wrote the current version here
}

// ensureCopies brings an object's copies to what its bucket asks for: it opens every copy on
// every mountpath (verifying each whole file if verify is set; otherwise only the record and
// size are checked, and a source is still hashed while it is copied), takes the newest valid
// version as the truth, writes it to each mountpath of copyOrder that lacks it (primary first),
// and removes copies on the other mountpaths in use once every wanted copy is in place.
// Copies on draining mountpaths are left to the resilver.
func (s *Store) ensureCopies(ctx context.Context, b *meta.Bucket, epoch uint64, name string, verify bool) (copyReport, error) {
	var rep copyReport
	want := s.copyOrder(b, name)
	var states []*copyState
	defer func() {
		for _, st := range states {
			if st.obj != nil {
				_ = st.obj.Close()
			}
		}
	}()
	var best *ObjectMeta
	for _, mp := range s.walkMountpaths() {
		st := &copyState{mp: mp}
		o, err := s.OpenCopy(mp, b, name)
		switch {
		case err == nil && verify:
			if verr := s.Verify(o); verr != nil {
				_ = o.Close()
				st.bad = true
				s.log.Warn("damaged copy", "bucket", b.Key(), "object", name, "mountpath", mp, "err", verr)
			} else {
				st.obj = o
			}
		case err == nil:
			st.obj = o
		case meta.KindOf(err) == meta.KindNotExist:
			continue
		default:
			st.bad = true
			s.log.Warn("damaged copy", "bucket", b.Key(), "object", name, "mountpath", mp, "err", err)
		}
		states = append(states, st)
		if st.obj != nil && newerCopy(st.obj.Meta.stamp(), best) {
			best = st.obj.Meta
		}
	}
	if len(states) == 0 {
		return rep, fmt.Errorf("target: %s/%s: %w", b.Key(), name, meta.ErrObjectNotFound)
	}
	current := func(st *copyState) bool {
		return st != nil && (st.written || st.obj != nil && st.obj.Meta.Version == best.Version && st.obj.Meta.Mtime == best.Mtime)
	}
	byMP := map[string]*copyState{}
	for _, st := range states {
		byMP[st.mp] = st
		if st.bad || (st.obj != nil && !current(st) && slices.Contains(want, st.mp)) {
			rep.Damaged = true
		}
	}
	for _, mp := range want {
		if byMP[mp] == nil {
			rep.Damaged = true
		}
	}
	if best == nil {
		rep.Unrecoverable = true
		return rep, fmt.Errorf("target: %s/%s: %w: no valid copy left", b.Key(), name, meta.ErrCorrupt)
	}
	rep.Size = best.Size
	// Sources: the current copies, those on wanted mountpaths first.
	var sources []*copyState
	for _, st := range states {
		if current(st) {
			sources = append(sources, st)
		}
	}
	slices.SortStableFunc(sources, func(x, y *copyState) int {
		return bool2int(!slices.Contains(want, x.mp)) - bool2int(!slices.Contains(want, y.mp))
	})
	var firstErr error
	for again := true; again && len(sources) > 0; {
		again = false
		for _, mp := range want {
			if err := ctx.Err(); err != nil {
				return rep, context.Cause(ctx)
			}
			st := byMP[mp]
			if st == nil {
				st = &copyState{mp: mp}
				byMP[mp] = st
			}
			for !current(st) && len(sources) > 0 {
				src := sources[0]
				err := s.putCopy(ctx, mp, b, epoch, src.obj)
				switch {
				case err == nil:
					rep.Made++
					rep.MadeBytes += src.obj.Meta.Size
					st.written = true
				case errors.Is(err, errCopyKept), errors.Is(err, errCopyStale):
					st.written = true // a newer write got there first; it makes its own copies
				case errors.Is(err, meta.ErrCorrupt):
					// The source was damaged after all (verify was off): it is no source, and
					// if it is a wanted copy it needs rewriting too.
					s.log.Warn("damaged copy found while copying", "bucket", b.Key(), "object", name,
						"mountpath", src.mp, "err", err)
					rep.Damaged = true
					_ = src.obj.Close()
					src.obj, src.bad = nil, true
					sources = sources[1:]
					again = again || slices.Contains(want, src.mp)
				default:
					if firstErr == nil {
						firstErr = err
					}
					sources = nil
				}
			}
		}
	}
	ok := 0
	for _, mp := range want {
		if current(byMP[mp]) {
			ok++
		}
	}
	if ok == 0 {
		rep.Unrecoverable = true
		if firstErr == nil {
			firstErr = fmt.Errorf("target: %s/%s: %w: no valid copy left", b.Key(), name, meta.ErrCorrupt)
		}
	}
	if ok >= len(want) {
		if rep.Damaged {
			rep.Restored = true
		}
		// Every wanted copy is in place: copies elsewhere (mirror.copies lowered, or a
		// mountpath's turn in HRW order moved) are extra.
		for _, st := range states {
			if slices.Contains(want, st.mp) || !slices.Contains(s.mountpaths(), st.mp) {
				continue
			}
			if st.obj != nil {
				_ = st.obj.Close()
				st.obj = nil
			}
			path, err := s.copyPath(st.mp, b, name)
			if err != nil {
				continue
			}
			mu := s.lock(b, name)
			mu.Lock()
			cur := s.currentMeta(path, b, name)
			var rerr error
			if cur == nil || !newerCopy(cur.stamp(), best) {
				rerr = s.fs.Remove(path)
			}
			mu.Unlock()
			if rerr == nil {
				rep.Removed++
				s.prune(st.mp, b, path, b.Props.Write.Fsync)
			}
		}
	}
	return rep, firstErr
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}
