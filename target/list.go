package target

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aisfoundry/ais/meta"
)

// ListArgs select one page of a listing.
type ListArgs struct {
	Prefix     string
	StartAfter string
	Limit      int // > 0
}

// List returns this target's objects of bucket b whose names have the prefix and sort after
// StartAfter, in byte order, at most Limit of them; more reports whether others remain. It
// lists exactly what Open would find: files with a valid record of this bucket ID, once per
// name (a resilver may have a name on two mountpaths for a moment; the newer copy counts).
//
// It walks every mountpath's bucket directory, skipping directories that cannot hold a
// matching name and keeping only the Limit+1 smallest names, so memory stays bounded; the
// walk itself is proportional to the bucket (a sorted walk is a later optimisation).
func (s *Store) List(ctx context.Context, b *meta.Bucket, a ListArgs) (entries []ObjectMeta, more bool, err error) {
	if a.Limit <= 0 {
		return nil, false, fmt.Errorf("target: list %s: %w: limit must be positive", b.Key(), meta.ErrInvalidRequest)
	}
	if err := meta.ValidateBucketName(b.Name); err != nil {
		return nil, false, err
	}
	w := &lister{s: s, b: b, args: a, ctx: ctx}
	for _, mp := range s.walkMountpaths() {
		w.mp = mp
		if err := w.walk(bucketDir(mp, b.Provider, b.Name), "", false); err != nil {
			return nil, false, fmt.Errorf("target: list %s: %w", b.Key(), err)
		}
	}
	out := make([]ObjectMeta, 0, w.top.Len())
	for _, m := range w.top {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(x, y ObjectMeta) int { return strings.Compare(x.Name, y.Name) })
	if len(out) > a.Limit {
		return out[:a.Limit], true, nil
	}
	return out, false, nil
}

type lister struct {
	s    *Store
	b    *meta.Bucket
	args ListArgs
	ctx  context.Context
	mp   string
	top  maxHeap // the Limit+1 smallest matching names so far
	seen map[string]*ObjectMeta
}

// wants reports whether a name passes the filters and would make the current page.
func (w *lister) wants(name string) bool {
	if !strings.HasPrefix(name, w.args.Prefix) || name <= w.args.StartAfter {
		return false
	}
	return w.top.Len() <= w.args.Limit || name < w.top[0].Name
}

// mayHold reports whether a directory (rel is its path in the bucket, names below it start
// with rel+"/") can hold a name that passes the filters.
func (w *lister) mayHold(rel string) bool {
	p := rel + "/"
	if !strings.HasPrefix(p, w.args.Prefix) && !strings.HasPrefix(w.args.Prefix, p) {
		return false
	}
	if s := w.args.StartAfter; p < s && !strings.HasPrefix(s, p) {
		return false // every name below sorts before StartAfter
	}
	return true
}

func (w *lister) walk(dir, rel string, hashed bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	ents, err := w.s.fs.ReadDir(dir)
	if err != nil {
		if notFoundErr(err) {
			return nil // no object of the bucket on this mountpath (or the bucket was just destroyed)
		}
		return err
	}
	for _, e := range ents {
		name := e.Name()
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		childHashed := hashed || strings.HasPrefix(name, longPrefix)
		switch {
		case e.IsDir():
			if !childHashed && !w.mayHold(childRel) {
				continue
			}
			if err := w.walk(dir+"/"+name, childRel, childHashed); err != nil {
				return err
			}
		case e.Type().IsRegular():
			if name == dirObjName { // the object named by this directory (dirobj.go)
				childRel = rel
			}
			if !childHashed && !w.wants(childRel) {
				continue
			}
			w.consider(dir+"/"+name, childRel)
		}
	}
	return nil
}

// consider reads one file's record and keeps it if it is a listable object of the bucket.
func (w *lister) consider(path, rel string) {
	raw, err := w.s.fs.GetXattr(path, xattrMeta)
	if err != nil {
		return
	}
	m, err := decodeObjMeta(raw)
	if err != nil {
		w.s.log.Warn("skipping object with a damaged metadata record in listing", "path", path, "err", err)
		return
	}
	if m.BucketID != w.b.ID || !w.wants(m.Name) {
		return
	}
	if r, _ := objectRelPath(m.Name); r != rel {
		return
	}
	m.Custom = listCustom(m.Custom)
	// During a resilver an object may sit on two mountpaths for a moment (or on one that is not
	// its HRW mountpath, which Open also reads): list it once, the newer copy.
	if old, ok := w.seen[m.Name]; ok {
		if newerCopy(m.stamp(), old) {
			*old = *m
		}
		return
	}
	if w.seen == nil {
		w.seen = map[string]*ObjectMeta{}
	}
	heap.Push(&w.top, m)
	w.seen[m.Name] = m
	if w.top.Len() > w.args.Limit+1 {
		delete(w.seen, heap.Pop(&w.top).(*ObjectMeta).Name)
	}
}

// maxHeap keeps records with the largest name on top.
type maxHeap []*ObjectMeta

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i].Name > h[j].Name }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(*ObjectMeta)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
