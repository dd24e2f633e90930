package target

import (
	"errors"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/aisfoundry/ais/meta"
)

// A bucket with synchronous mirroring (mirror.sync) gets the copies of a new write in the
// write's own pass: the body read from the client is written to a work file on every mountpath
// of the object's copyOrder and hashed once; the records go in with the same version; the
// copies are renamed into place right after the primary, under the object's lock. A copy that
// fails on the way (a full or failing disk, a name taken by a directory) is dropped and left to
// the copy step after the rename (afterPut: ensureCopies), which reads the primary back. So a
// mirrored write costs the bytes it writes and nothing more: no second read and hash of the
// primary per copy.

// teeCopy is one copy written in the same pass as the primary.
type teeCopy struct {
	mp      string
	wf      *workFile
	path    string
	created []string // directories made for it
	ready   bool     // its directories exist
	failed  error
	placed  bool
}

// teeCopies returns a work file for each copy besides the primary on mp that bucket b keeps of
// an object, when b mirrors synchronously; nil otherwise (and for a write without data).
func (s *Store) teeCopies(b *meta.Bucket, name, mp string, noData bool) []*teeCopy {
	if noData || !b.Props.Mirror.Sync || s.copiesOf(b) <= 1 {
		return nil
	}
	order := s.copyOrder(b, name)
	if order[0] != mp {
		return nil
	}
	var out []*teeCopy
	for _, cmp := range order[1:] {
		path, err := s.copyPath(cmp, b, name)
		if err != nil {
			continue
		}
		wf, err := s.createWork(cmp)
		if err != nil {
			s.log.Debug("no copy in the write's pass; the copy step makes it", "object", name, "mountpath", cmp, "err", err)
			continue
		}
		out = append(out, &teeCopy{mp: cmp, wf: wf, path: path})
	}
	return out
}

// teeWriter writes to the primary's work file and to every copy that has not failed; only
// the primary's errors are the write's.
type teeWriter struct {
	primary File
	tees    []*teeCopy
}

func (w *teeWriter) Write(p []byte) (int, error) {
	n, err := w.primary.Write(p)
	if err != nil {
		return n, err
	}
	for _, t := range w.tees {
		if t.failed == nil {
			if _, err := t.wf.Write(p); err != nil {
				t.failed = err
			}
		}
	}
	return n, nil
}

// prepareTees writes rec into every live copy (fsynced with fsync) and makes the copies'
// directories; a copy that fails is dropped.
func (s *Store) prepareTees(b *meta.Bucket, epoch uint64, rec *ObjectMeta, tees []*teeCopy, fsync bool) []*teeCopy {
	for _, t := range tees {
		if t.failed != nil {
			continue
		}
		if !t.ready {
			if err := s.ensureCopyDir(t.mp, b, epoch); err != nil {
				t.failed = err
				continue
			}
			root := bucketDir(t.mp, b.Provider, b.Name)
			created, err := s.makeParentEscaping(b, filepath.Dir(t.path), root)
			if err != nil {
				t.failed = err
				continue
			}
			t.created, t.ready = created, true
		}
		if err := s.writeRecord(t.wf.File, rec, fsync); err != nil {
			t.failed = err
		}
	}
	return tees
}

// placeTees renames the live copies into place, under the object's lock, right after the
// primary took rec; a place that holds a newer copy keeps it.
func (s *Store) placeTees(b *meta.Bucket, name string, rec *ObjectMeta, tees []*teeCopy) {
	for _, t := range tees {
		if t.failed != nil {
			continue
		}
		if cur := s.currentMeta(t.path, b, name); cur != nil && newerCopy(cur.stamp(), rec) {
			t.failed = errCopyKept
			continue
		}
		err := s.fs.Rename(t.wf.path, t.path)
		if errors.Is(err, syscall.EISDIR) && !isDirObject(t.path) {
			t.path += "/" + dirObjName
			err = s.fs.Rename(t.wf.path, t.path)
		}
		if err != nil {
			t.failed = err
			continue
		}
		t.wf.kept, t.placed = true, true
	}
}

// syncTees closes the copies put in place, syncs their directories with fsync, and returns
// how many are in place.
func (s *Store) syncTees(tees []*teeCopy, fsync bool) int {
	n := 0
	for _, t := range tees {
		if !t.placed {
			if t.failed != nil && !errors.Is(t.failed, errCopyKept) {
				s.log.Debug("a copy failed in the write's pass; the copy step makes it", "path", t.path, "err", t.failed)
			}
			continue
		}
		_ = t.wf.File.Close()
		if fsync {
			dirs := []string{filepath.Dir(t.path)}
			for _, d := range t.created {
				dirs = append(dirs, filepath.Dir(d))
			}
			synced := true
			for _, d := range slices.Compact(dirs) {
				if err := s.fs.SyncDir(d); err != nil {
					s.log.Warn("sync directory of a mirror copy", "dir", d, "err", err)
					synced = false
				}
			}
			if !synced {
				continue
			}
		}
		n++
	}
	return n
}
