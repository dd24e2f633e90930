package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/aisfoundry/ais/meta"
)

// Reads of mirrored objects and restore on read (docs/protection.md).
//
// A GET of a mirrored object reads the copy on the least busy of its mountpaths (fewest reads
// in flight; ties go to the primary). A GET that finds the copy it opened missing, cut short
// (its size differs from its record) or, when it validates, damaged, rebuilds the object's
// copies from a valid one (restoreFromMirror), writes them back and serves the rebuilt copy.
// Bytes that do not match their checksum are never served.

// readLoad counts the reads in flight per mountpath.
type readLoad struct {
	m sync.Map // mountpath -> *atomic.Int64
}

func (l *readLoad) counter(mp string) *atomic.Int64 {
	if c, ok := l.m.Load(mp); ok {
		return c.(*atomic.Int64)
	}
	c, _ := l.m.LoadOrStore(mp, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// leastBusy returns mps ordered by reads in flight, fewest first (stable: HRW order breaks ties).
func (l *readLoad) leastBusy(mps []string) []string {
	if len(mps) < 2 {
		return mps
	}
	type load struct {
		mp string
		n  int64
	}
	ls := make([]load, len(mps))
	for i, mp := range mps {
		ls[i] = load{mp, l.counter(mp).Load()}
	}
	out := make([]string, 0, len(mps))
	for len(ls) > 0 {
		k := 0
		for i := range ls {
			if ls[i].n < ls[k].n {
				k = i
			}
		}
		out = append(out, ls[k].mp)
		ls = append(ls[:k], ls[k+1:]...)
	}
	return out
}

// countedFile is an open copy counted as a read in flight on its mountpath until it is closed.
type countedFile struct {
	File
	n    *atomic.Int64
	once sync.Once
}

func (f *countedFile) Close() error {
	f.once.Do(func() { f.n.Add(-1) })
	return f.File.Close()
}

// OSFile keeps sendfile working for counted files.
func (f *countedFile) OSFile() *os.File { return f.File.(osFiler).OSFile() }

func (s *Server) countRead(mp string, o *Object) *Object {
	c := s.mirror.reads.counter(mp)
	c.Add(1)
	if _, ok := o.File.(osFiler); ok {
		o.File = &countedFile{File: o.File, n: c}
	} else {
		o.File = &plainCountedFile{File: o.File, n: c}
	}
	return o
}

// plainCountedFile is countedFile for files that have no *os.File (no OSFile method, so the
// GET path does not try sendfile on them).
type plainCountedFile struct {
	File
	n    *atomic.Int64
	once sync.Once
}

func (f *plainCountedFile) Close() error {
	f.once.Do(func() { f.n.Add(-1) })
	return f.File.Close()
}

// openForRead opens an object for GET or HEAD, hashing it whole first when validate is set (a
// mismatch is meta.ErrCorrupt). A mirrored object is read from its least busy copy, and a
// missing or damaged copy is an error here, for restoreFromMirror to repair; an object without
// copies is opened as Store.Open does (which also finds it where a resilver has not moved it).
func (s *Server) openForRead(b *meta.Bucket, name string, validate bool) (*Object, error) {
	if s.store.copiesOf(b) <= 1 {
		o, err := s.store.Open(b, name)
		if err == nil && validate && !o.Meta.EC.Sliced() { // a sliced object's bytes are in its slices (ec_meta.go)
			if err = s.store.Verify(o); err != nil {
				_ = o.Close()
				return nil, err
			}
		}
		return o, err
	}
	if s.store.mixed() {
		// A mountpath came back (mountpath.go) and may hold older copies: the newest one, until
		// the resilver is done.
		o, err := s.store.OpenNewest(b, name)
		if err == nil && validate && !o.Meta.EC.Sliced() {
			if err = s.store.Verify(o); err != nil {
				_ = o.Close()
			}
		}
		if err == nil {
			return o, nil
		}
		return nil, fmt.Errorf("target: open %s/%s: %w", b.Key(), name, err)
	}
	// A copy on a disk that fails (meta.ErrMountpathFault) is passed over for the next one;
	// the disk's health probe is under way (mountpath_health.go).
	var err error
	for _, mp := range s.mirror.reads.leastBusy(s.store.copyOrder(b, name)) {
		var o *Object
		o, err = s.store.OpenCopy(mp, b, name)
		if err == nil && validate && !o.Meta.EC.Sliced() {
			if err = s.store.Verify(o); err != nil {
				_ = o.Close()
			}
		}
		if err == nil {
			return s.countRead(mp, o), nil
		}
		if !errors.Is(err, meta.ErrMountpathFault) {
			break
		}
	}
	return nil, fmt.Errorf("target: open %s/%s: %w", b.Key(), name, err)
}

// restorable reports whether a failed open may be cured by restoring the object from
// redundancy: it is missing or damaged.
func restorable(err error) bool {
	return errors.Is(err, meta.ErrObjectNotFound) || errors.Is(err, meta.ErrCorrupt)
}

// restoreFromMirror rebuilds an object whose open failed with cause (missing or damaged)
// from a valid mirror copy: every copy is checked (hashed whole if validate), the damaged and
// missing ones are written again from a valid one (the primary first), and the primary is
// opened and returned. If no valid copy is left, or the bucket keeps none, the answer is cause:
// never wrong bytes.
func (s *Server) restoreFromMirror(ctx context.Context, b *meta.Bucket, epoch uint64, name string, validate bool, cause error) (*Object, error) {
	if !restorable(cause) {
		return nil, cause
	}
	mirrored := s.store.copiesOf(b) > 1
	if !mirrored && errors.Is(cause, meta.ErrObjectNotFound) {
		return nil, cause // Store.Open looked on every mountpath already
	}
	var rep copyReport
	err := s.mirror.restores.do(meta.ObjectKey(b.Key(), name), func() error {
		var err error
		rep, err = s.store.ensureCopies(ctx, b, epoch, name, validate || !mirrored)
		return err
	})
	if err != nil || rep.Unrecoverable {
		if rep.Damaged || errors.Is(err, meta.ErrCorrupt) {
			s.log.Error("object could not be restored from mirror copies", "bucket", b.Key(), "object", name,
				"cause", cause, "err", err)
		}
		return nil, cause
	}
	if rep.Made > 0 {
		s.log.Warn("object restored from a mirror copy on read", "bucket", b.Key(), "object", name, "cause", cause,
			"copies_written", rep.Made)
	}
	primary := s.store.copyOrder(b, name)[0]
	o, err := s.store.OpenCopy(primary, b, name)
	if err != nil {
		return nil, cause
	}
	return s.countRead(primary, o), nil
}
