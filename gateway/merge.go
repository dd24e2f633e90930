package gateway

import (
	"cmp"
	"container/heap"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// A listing page token is the last name of the previous page, base64url without padding. It is
// opaque to clients.

func encodeToken(lastName string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastName))
}

func decodeToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", fmt.Errorf("%w: malformed listing token", meta.ErrInvalidRequest)
	}
	return string(b), nil
}

// targetPage is one target's answer to a listing request.
type targetPage struct {
	Target string
	List   api.ObjectList
	Tombs  []api.Tombstone // while unsettled: its tombstones in the page's range
}

// mergePages merges targets' sorted pages into one page of at most limit entries with names
// after start that have prefix, in byte order, each name once. A name several targets hold (an
// object in transit between owners during a rebalance) comes from the copy with the highest
// write epoch, then version, then the newest mtime, then the one at its owner at the current
// epoch (owner(name) returns its ID): the copy a GET returns. A name whose chosen copy a
// target's tombstone kills (deleted during a rebalance while an older copy still sits on a
// target that was away) is left out: a GET of it answers 404.
//
// A target that answered a full page (non-empty next token) knows nothing past its last name,
// so the merge stops there: no name is skipped on the next page, which starts after the last
// name of this one. more says whether names may remain after the returned ones.
func mergePages(pages []targetPage, start, prefix string, limit int, owner func(name string) string) (entries []api.ObjectEntry, more bool) {
	var (
		bound   string
		bounded bool
	)
	h := &cursors{}
	for i := range pages {
		es := pages[i].List.Entries
		if !slices.IsSortedFunc(es, byName) {
			es = slices.Clone(es)
			slices.SortStableFunc(es, byName)
		}
		if pages[i].List.NextToken != "" && len(es) > 0 {
			if last := es[len(es)-1].Name; !bounded || last < bound {
				bound, bounded = last, true
			}
		}
		if len(es) > 0 {
			h.items = append(h.items, cursor{target: pages[i].Target, entries: es})
		}
	}
	var tombs map[string]api.Tombstone
	for _, p := range pages {
		for _, t := range p.Tombs {
			if tombs == nil {
				tombs = map[string]api.Tombstone{}
			}
			if old, ok := tombs[t.Name]; !ok || t.Epoch > old.Epoch || t.Epoch == old.Epoch && t.Mtime > old.Mtime {
				tombs[t.Name] = t
			}
		}
	}
	heap.Init(h)
	entries = make([]api.ObjectEntry, 0, min(limit, 1024))
	var dup []candidate
	for h.Len() > 0 {
		name := h.items[0].head().Name
		if bounded && name > bound {
			break
		}
		dup = dup[:0]
		for h.Len() > 0 && h.items[0].head().Name == name {
			c := &h.items[0]
			dup = append(dup, candidate{target: c.target, entry: c.head()})
			if c.pos++; c.pos == len(c.entries) {
				heap.Pop(h)
			} else {
				heap.Fix(h, 0)
			}
		}
		if name <= start || !strings.HasPrefix(name, prefix) {
			continue
		}
		e := pick(dup, owner(name))
		if t, ok := tombs[name]; ok && t.Kills(e) {
			continue
		}
		if len(entries) == limit {
			return entries, true
		}
		entries = append(entries, e)
	}
	return entries, bounded
}

func byName(a, b api.ObjectEntry) int { return strings.Compare(a.Name, b.Name) }

type candidate struct {
	target string
	entry  api.ObjectEntry
}

// pick chooses among copies of one name: the latest write epoch, else the highest version, else
// the newest, else the owner's,
// else the lowest target ID (so the answer does not depend on arrival order).
func pick(cs []candidate, ownerID string) api.ObjectEntry {
	best := cs[0]
	for _, c := range cs[1:] {
		if better(c, best, ownerID) {
			best = c
		}
	}
	return best.entry
}

func better(a, b candidate, ownerID string) bool {
	if c := cmp.Compare(a.entry.Epoch, b.entry.Epoch); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(a.entry.Version, b.entry.Version); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(a.entry.Mtime, b.entry.Mtime); c != 0 {
		return c > 0
	}
	if ao, bo := a.target == ownerID, b.target == ownerID; ao != bo {
		return ao
	}
	return a.target < b.target
}

// cursor walks one target's sorted entries.
type cursor struct {
	target  string
	entries []api.ObjectEntry
	pos     int
}

func (c *cursor) head() api.ObjectEntry { return c.entries[c.pos] }

// cursors is a min-heap of cursors by head name.
type cursors struct{ items []cursor }

func (h *cursors) Len() int           { return len(h.items) }
func (h *cursors) Less(i, j int) bool { return h.items[i].head().Name < h.items[j].head().Name }
func (h *cursors) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *cursors) Push(x any)         { h.items = append(h.items, x.(cursor)) }
func (h *cursors) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}
