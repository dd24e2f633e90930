package target

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/meta"
)

// nextVersion is the version a write stores when the object now has version cur (0: none): a
// copy keeps its source's version; a new write counts up from the higher of cur and the
// version floor (the highest version elsewhere in the cluster during a rebalance).
func (a *PutArgs) nextVersion(cur uint64) uint64 {
	if a.KeepVersion != 0 {
		return a.KeepVersion
	}
	return max(cur, a.BaseVersion) + 1
}

// stamp orders the copies of one object across the cluster (docs/rebalance.md, "Which copy
// wins"): the epoch at which the write was accepted, then the version, then the mtime. Only
// the owner of an epoch accepts writes of an object, ownership moves only with the epoch, and
// a target that lost touch with meta stops accepting writes before meta can give its objects
// to another owner (staleness.go); so a later acknowledged write always has a higher epoch or,
// at the same owner and epoch, a higher version. Version counters alone are per target: a
// temporary owner counts from 1 while the real one is down.
type stamp struct {
	Epoch   uint64
	Version uint64
	Mtime   int64
}

func (m *ObjectMeta) stamp() stamp { return stamp{Epoch: m.Epoch, Version: m.Version, Mtime: m.Mtime} }

// after reports whether s orders after o.
func (s stamp) after(o stamp) bool {
	if s.Epoch != o.Epoch {
		return s.Epoch > o.Epoch
	}
	if s.Version != o.Version {
		return s.Version > o.Version
	}
	return s.Mtime > o.Mtime
}

// newerCopy reports whether a copy with stamp s is newer than the record cur (nil: nothing
// stored).
func newerCopy(s stamp, cur *ObjectMeta) bool {
	return cur == nil || s.after(cur.stamp())
}

// Walk calls fn for every object copy on the store's mountpaths (also those being drained by a
// resilver): each file of a bucket directory whose record names its bucket and path. It stops
// at fn's first error, which it returns.
func (s *Store) Walk(ctx context.Context, fn func(balancer.Item) error) error {
	for _, mp := range s.walkMountpaths() {
		root := mp + "/@" + string(meta.ProviderAIS)
		ents, err := s.fs.ReadDir(root)
		if err != nil {
			if notFoundErr(err) {
				continue
			}
			return fmt.Errorf("target: walk %s: %w", root, err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			dir := root + "/" + e.Name()
			mk, ok := s.readMarker(dir)
			if !ok {
				continue
			}
			w := &walker{s: s, ctx: ctx, fn: fn, mp: mp, bucketID: mk.id,
				bucketKey: meta.BucketKey(meta.ProviderAIS, e.Name())}
			if err := w.walk(dir, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

type walker struct {
	s         *Store
	ctx       context.Context
	fn        func(balancer.Item) error
	mp        string
	bucketID  uint64
	bucketKey string
}

func (w *walker) walk(dir, rel string) error {
	if err := w.ctx.Err(); err != nil {
		return context.Cause(w.ctx)
	}
	ents, err := w.s.fs.ReadDir(dir)
	if err != nil {
		if notFoundErr(err) {
			return nil // removed meanwhile
		}
		return fmt.Errorf("target: walk %s: %w", dir, err)
	}
	for _, e := range ents {
		childRel := e.Name()
		if rel != "" {
			childRel = rel + "/" + e.Name()
		}
		path := dir + "/" + e.Name()
		switch {
		case e.IsDir():
			if err := w.walk(path, childRel); err != nil {
				return err
			}
		case e.Type().IsRegular():
			raw, err := w.s.fs.GetXattr(path, xattrMeta)
			if err != nil {
				continue
			}
			m, err := decodeObjMeta(raw)
			if err != nil || m.BucketID != w.bucketID {
				continue
			}
			if r, _ := objectRelPath(m.Name); r != fileRel(childRel) { // dirobj.go
				continue
			}
			it := balancer.Item{BucketKey: w.bucketKey, BucketID: m.BucketID, Name: m.Name, Size: m.Size,
				Version: m.Version, Mtime: m.Mtime, Mountpath: w.mp}
			if err := w.fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyPath is the file of an object's copy on a mountpath (dirobj.go: maybe inside a
// directory of the object's name).
func (s *Store) copyPath(mp string, b *meta.Bucket, name string) (string, error) {
	path, err := objectPath(mp, b, name)
	if err != nil {
		return "", err
	}
	return s.dirObjectPath(path), nil
}

// OpenCopy opens the copy of an object on one mountpath.
func (s *Store) OpenCopy(mp string, b *meta.Bucket, name string) (*Object, error) {
	path, err := s.copyPath(mp, b, name)
	if err != nil {
		return nil, err
	}
	f, err := s.fs.Open(path)
	if err != nil {
		if notFoundErr(err) {
			return nil, fmt.Errorf("target: open %s/%s on %s: %w", b.Key(), name, mp, meta.ErrObjectNotFound)
		}
		return nil, err
	}
	m, err := s.checkOpen(f, nil, b, name)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("target: open %s/%s on %s: %w", b.Key(), name, mp, err)
	}
	return &Object{Meta: m, File: f}, nil
}

// OpenNewest opens the newest copy of an object on any mountpath (its HRW mountpath first):
// what a neighbour or a resilver reads.
func (s *Store) OpenNewest(b *meta.Bucket, name string) (*Object, error) {
	var best *Object
	for _, mp := range s.copyMountpaths(b, name) {
		o, err := s.OpenCopy(mp, b, name)
		if err != nil {
			continue
		}
		if best == nil || newerCopy(o.Meta.stamp(), best.Meta) {
			if best != nil {
				_ = best.Close()
			}
			best = o
			continue
		}
		_ = o.Close()
	}
	if best == nil {
		return nil, fmt.Errorf("target: open %s/%s: %w", b.Key(), name, meta.ErrObjectNotFound)
	}
	return best, nil
}

// NewestMeta returns the record of the newest local copy of an object, or nil.
func (s *Store) NewestMeta(b *meta.Bucket, name string) *ObjectMeta {
	var best *ObjectMeta
	for _, mp := range s.copyMountpaths(b, name) {
		path, err := s.copyPath(mp, b, name)
		if err != nil {
			return nil
		}
		if m := s.currentMeta(path, b, name); m != nil && newerCopy(m.stamp(), best) {
			best = m
		}
	}
	return best
}

// copyMountpaths returns the mountpaths that may hold a copy of an object: its HRW mountpath
// first, then the others (a resilver may not have moved it yet).
func (s *Store) copyMountpaths(b *meta.Bucket, name string) []string {
	all := s.walkMountpaths()
	if len(all) <= 1 {
		return all
	}
	first := meta.Mountpath(meta.ObjectKey(b.Key(), name), s.Mountpaths())
	out := make([]string, 0, len(all))
	if first != "" {
		out = append(out, first)
	}
	for _, mp := range all {
		if mp != first {
			out = append(out, mp)
		}
	}
	return out
}

// RemoveCopy removes the copy of an object on mountpath mp if it still has version and mtime
// (a copy that was replaced since is kept), then prunes the directories it leaves empty.
func (s *Store) RemoveCopy(mp string, b *meta.Bucket, name string, version uint64, mtime int64, fsync bool) error {
	path, err := s.copyPath(mp, b, name)
	if err != nil {
		return err
	}
	mu := s.lock(b, name)
	mu.Lock()
	cur := s.currentMeta(path, b, name)
	if cur == nil || cur.Version != version || cur.Mtime != mtime {
		mu.Unlock()
		return nil
	}
	err = s.fs.Remove(path)
	mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("target: remove copy %s/%s on %s: %w", b.Key(), name, mp, err)
	}
	s.prune(mp, b, path, fsync)
	return nil
}

// RemoveAllCopies removes every local copy of an object (on any mountpath) and reports whether
// there was one.
func (s *Store) RemoveAllCopies(b *meta.Bucket, name string, fsync bool) (bool, error) {
	found := false
	for _, mp := range s.walkMountpaths() {
		path, err := s.copyPath(mp, b, name)
		if err != nil {
			return false, err
		}
		mu := s.lock(b, name)
		mu.Lock()
		cur := s.currentMeta(path, b, name)
		if cur != nil {
			err = s.fs.Remove(path)
		}
		mu.Unlock()
		if cur == nil {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return found, fmt.Errorf("target: remove copy %s/%s on %s: %w", b.Key(), name, mp, err)
		}
		found = true
		s.prune(mp, b, path, fsync)
	}
	return found, nil
}

// prune removes the directories between a removed file and its bucket directory that are empty
// now (best effort, as Delete does).
func (s *Store) prune(mp string, b *meta.Bucket, path string, fsync bool) {
	root := bucketDir(mp, b.Provider, b.Name)
	last := filepath.Dir(path)
	for d := last; len(d) > len(root) && strings.HasPrefix(d, root+"/"); d = filepath.Dir(d) {
		if s.fs.Remove(d) != nil {
			break
		}
		last = filepath.Dir(d)
	}
	if fsync {
		_ = s.fs.SyncDir(last)
	}
}
