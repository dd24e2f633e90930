package target

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// mountpathSet is the store's mountpaths at one moment. Objects are placed by HRW over active;
// draining mountpaths (detached or disabled, their objects not all moved yet) are still read
// and walked; disabled ones are remembered so that they can be enabled again. A set is never
// changed: a change stores a new one.
type mountpathSet struct {
	active   []string
	draining []string
	disabled []string
	gen      uint64 // counts changes
	// mixed: a mountpath was attached or enabled and the resilver has not finished. Its
	// objects may be older than copies written elsewhere while it was away (a repaired disk
	// enabled again), so reads open the newest copy on any mountpath until then.
	mixed bool
}

// mixed reports whether reads must look for the newest copy on every mountpath
// (mountpathSet.mixed).
func (s *Store) mixed() bool { return s.mpset.Load().mixed }

// mountpaths returns the mountpaths in use (not a copy: do not change it).
func (s *Store) mountpaths() []string { return s.mpset.Load().active }

// walkMountpaths returns every mountpath that may hold objects: those in use and those a
// resilver still drains.
func (s *Store) walkMountpaths() []string {
	set := s.mpset.Load()
	if len(set.draining) == 0 {
		return set.active
	}
	return append(append([]string(nil), set.active...), set.draining...)
}

// openElsewhere opens the newest copy of an object on a mountpath other than skip (its HRW
// one): a resilver may not have moved it yet. nil if there is none.
func (s *Store) openElsewhere(b *meta.Bucket, name, skip string) *Object {
	var best *Object
	for _, mp := range s.walkMountpaths() {
		if mp == skip {
			continue
		}
		o, err := s.OpenCopy(mp, b, name)
		if err != nil {
			continue
		}
		if best != nil && !newerCopy(o.Meta.stamp(), best.Meta) {
			_ = o.Close()
			continue
		}
		if best != nil {
			_ = best.Close()
		}
		best = o
	}
	return best
}

// removeElsewhere removes an object's copies on mountpaths other than skip and reports whether
// there was one.
func (s *Store) removeElsewhere(b *meta.Bucket, name, skip string, fsync bool) bool {
	found := false
	for _, mp := range s.walkMountpaths() {
		if mp == skip {
			continue
		}
		path, err := s.copyPath(mp, b, name)
		if err != nil {
			return found
		}
		mu := s.lock(b, name)
		mu.Lock()
		cur := s.currentMeta(path, b, name)
		if cur != nil {
			err = s.fs.Remove(path)
		}
		mu.Unlock()
		if cur != nil && err == nil {
			found = true
			s.prune(mp, b, path, fsync)
		}
	}
	return found
}

// mountpathState reports the store's mountpaths.
func (s *Store) mountpathState() api.MountpathResponse {
	set := s.mpset.Load()
	return api.MountpathResponse{Active: slices.Clone(set.active), Draining: slices.Clone(set.draining),
		Disabled: slices.Clone(set.disabled)}
}

// changeMountpaths applies one change (api.Mountpath*) and returns the new set. Objects do not
// move here: the caller starts a resilver.
func (s *Store) changeMountpaths(action, mp string) (*mountpathSet, error) {
	if !filepath.IsAbs(mp) || filepath.Clean(mp) != mp || mp == "/" {
		return nil, fmt.Errorf("%w: mountpath %q must be an absolute, clean path below /", meta.ErrInvalidRequest, mp)
	}
	s.mpchange.Lock()
	defer s.mpchange.Unlock()
	cur := s.mpset.Load()
	next := &mountpathSet{active: slices.Clone(cur.active), draining: slices.Clone(cur.draining),
		disabled: slices.Clone(cur.disabled), gen: cur.gen + 1, mixed: cur.mixed}
	in := func(list []string) bool { return slices.Contains(list, mp) }
	drop := func(list []string) []string { return slices.DeleteFunc(list, func(x string) bool { return x == mp }) }
	switch action {
	case api.MountpathAttach:
		if in(cur.active) {
			return nil, fmt.Errorf("target: attach %s: %w", mp, meta.ErrMountpathExists)
		}
		if in(cur.disabled) {
			return nil, fmt.Errorf("%w: %s is disabled: enable it", meta.ErrInvalidRequest, mp)
		}
		for _, other := range append(slices.Clone(cur.active), cur.draining...) {
			if other != mp && (strings.HasPrefix(mp, other+"/") || strings.HasPrefix(other, mp+"/")) {
				return nil, fmt.Errorf("%w: mountpaths %q and %q overlap", meta.ErrInvalidRequest, other, mp)
			}
		}
		if err := s.prepare(mp); err != nil {
			return nil, fmt.Errorf("target: attach %s: %w", mp, err)
		}
		next.draining = drop(next.draining)
		next.active = append(next.active, mp)
		next.mixed = true
	case api.MountpathEnable:
		if !in(cur.disabled) {
			return nil, fmt.Errorf("target: enable %s: %w: not a disabled mountpath", mp, meta.ErrNoMountpath)
		}
		if err := s.prepare(mp); err != nil {
			return nil, fmt.Errorf("target: enable %s: %w", mp, err)
		}
		next.disabled = drop(next.disabled)
		next.draining = drop(next.draining)
		next.active = append(next.active, mp)
		next.mixed = true
	case api.MountpathDetach, api.MountpathDisable:
		switch {
		case in(cur.active):
			if len(cur.active) == 1 {
				return nil, fmt.Errorf("%w: %s is the target's last mountpath in use; attach another first", meta.ErrInvalidRequest, mp)
			}
			next.active = drop(next.active)
			next.draining = append(next.draining, mp)
		case action == api.MountpathDetach && in(cur.disabled):
			next.disabled = drop(next.disabled) // detaching a disabled one just forgets it
		case in(cur.draining) && action == api.MountpathDetach:
			next.disabled = drop(next.disabled)
		default:
			return nil, fmt.Errorf("target: %s %s: %w", action, mp, meta.ErrNoMountpath)
		}
		if action == api.MountpathDisable && !in(next.disabled) {
			next.disabled = append(next.disabled, mp)
		}
	default:
		return nil, fmt.Errorf("%w: mountpath action %q: use attach, detach, enable or disable", meta.ErrInvalidRequest, action)
	}
	slices.Sort(next.active)
	s.mpset.Store(next)
	if !in(next.disabled) {
		s.forgetFailedLocked(mp, next) // mountpath_failed.go
	}
	s.log.Info("mountpaths changed", "action", action, "mountpath", mp, "active", next.active, "draining", next.draining,
		"disabled", next.disabled)
	return next, nil
}

// drained forgets the draining mountpaths of generation gen once a resilver has moved every
// object off them.
func (s *Store) drained(gen uint64) {
	s.mpchange.Lock()
	defer s.mpchange.Unlock()
	cur := s.mpset.Load()
	if cur.gen != gen || len(cur.draining) == 0 && !cur.mixed {
		return
	}
	next := &mountpathSet{active: cur.active, disabled: cur.disabled, gen: cur.gen + 1}
	s.mpset.Store(next)
	s.log.Info("mountpaths drained", "released", cur.draining, "active", next.active, "mixed", cur.mixed)
}
