package target

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// failedRecordName is the file, in .ais/sys of every mountpath in use, that lists the
// mountpaths the target disabled because their disk failed. OpenStore starts those disabled,
// so that a restart does not put a dead disk back in use; enabling one removes it.
//
// Versions: 1 (2026-11): {"version": 1, "failed": [{"mountpath", "time", "error"}]}.
const (
	failedRecordName = "failed-mountpaths.json"
	failedRecordV1   = 1
)

type failedRecord struct {
	Version int               `json:"version"`
	Failed  []failedMountpath `json:"failed"`
}

type failedMountpath struct {
	Mountpath string    `json:"mountpath"`
	Time      time.Time `json:"time"`
	Error     string    `json:"error"`
}

// loadFailed reads the records of the given mountpaths (those it cannot read are skipped: one
// of them may be the dead disk) and returns their union by mountpath.
func (s *Store) loadFailed(mountpaths []string) map[string]failedMountpath {
	out := map[string]failedMountpath{}
	for _, mp := range mountpaths {
		f, err := s.fs.Open(mp + "/" + sysDir + "/" + failedRecordName)
		if err != nil {
			continue
		}
		var rec failedRecord
		err = json.NewDecoder(f).Decode(&rec)
		_ = f.Close()
		if err != nil || rec.Version != failedRecordV1 {
			s.log.Warn("ignoring an unreadable record of failed mountpaths", "mountpath", mp, "err", err, "version", rec.Version)
			continue
		}
		for _, fm := range rec.Failed {
			if slices.Contains(mountpaths, fm.Mountpath) {
				out[fm.Mountpath] = fm
			}
		}
	}
	return out
}

// saveFailedLocked writes the record to every mountpath in use. mpchange is held. A mountpath
// it cannot write to is logged: the others keep the record.
func (s *Store) saveFailedLocked(set *mountpathSet) {
	rec := failedRecord{Version: failedRecordV1, Failed: []failedMountpath{}}
	for _, mp := range set.disabled {
		if fm, ok := s.failed[mp]; ok {
			rec.Failed = append(rec.Failed, fm)
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		s.log.Error("cannot encode the record of failed mountpaths", "err", err)
		return
	}
	for _, mp := range set.active {
		if err := writeFileAtomic(s.fs, mp+"/"+sysDir+"/"+failedRecordName, raw); err != nil { // nodeid.go
			s.log.Error("cannot write the record of failed mountpaths", "mountpath", mp, "err", err)
		}
	}
}

// faultMountpath disables a mountpath whose disk failed its health probe. Unlike a disable by
// request it is not drained (nothing more is read from a dead disk), and it is recorded on the
// other mountpaths so that it stays disabled across restarts until it is enabled. The last
// mountpath in use is not disabled.
func (s *Store) faultMountpath(mp string, cause error) (*mountpathSet, error) {
	s.mpchange.Lock()
	defer s.mpchange.Unlock()
	cur := s.mpset.Load()
	in := func(list []string) bool { return slices.Contains(list, mp) }
	drop := func(list []string) []string { return slices.DeleteFunc(list, func(x string) bool { return x == mp }) }
	switch {
	case in(cur.active) && len(cur.active) == 1:
		return nil, fmt.Errorf("%w: %s is the target's last mountpath in use", meta.ErrInvalidRequest, mp)
	case !in(cur.active) && !in(cur.draining):
		return nil, fmt.Errorf("target: fail %s: %w", mp, meta.ErrNoMountpath)
	}
	next := &mountpathSet{active: drop(slices.Clone(cur.active)), draining: drop(slices.Clone(cur.draining)),
		disabled: slices.Clone(cur.disabled), gen: cur.gen + 1, mixed: cur.mixed}
	if !in(next.disabled) {
		next.disabled = append(next.disabled, mp)
	}
	s.mpset.Store(next)
	s.failed[mp] = failedMountpath{Mountpath: mp, Time: s.now().UTC(), Error: cause.Error()}
	s.noteFailedLocked()
	s.saveFailedLocked(next)
	return next, nil
}

// forgetFailedLocked drops mp from the record when it is enabled again. mpchange is held.
func (s *Store) forgetFailedLocked(mp string, set *mountpathSet) {
	if _, ok := s.failed[mp]; !ok {
		return
	}
	delete(s.failed, mp)
	s.noteFailedLocked()
	s.saveFailedLocked(set)
	s.log.Info("mountpath that had failed is enabled again", "mountpath", mp)
}

// noteFailedLocked publishes the failed mountpaths for missing. mpchange is held (or the store
// is not shared yet).
func (s *Store) noteFailedLocked() {
	mps := make([]string, 0, len(s.failed))
	for mp := range s.failed {
		mps = append(mps, mp)
	}
	slices.Sort(mps)
	s.lost.Store(&mps)
}

// missing is the error for an object found on no mountpath: meta.ErrObjectNotFound, which says
// so when a mountpath has failed, since the object may have been stored only there.
func (s *Store) missing() error {
	if p := s.lost.Load(); p != nil && len(*p) > 0 {
		return fmt.Errorf("%w (mountpath %s of this target failed: an object stored only there is unavailable until "+
			"its disk is repaired and the mountpath enabled)", meta.ErrObjectNotFound, strings.Join(*p, ", "))
	}
	return meta.ErrObjectNotFound
}
