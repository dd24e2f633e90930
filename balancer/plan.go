package balancer

import (
	"encoding/binary"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/aisfoundry/ais/meta"
)

// Item is one object copy on a target: what its inventory walk yields.
type Item struct {
	BucketKey string // meta.Bucket.Key(): "ais/name"
	BucketID  uint64
	Name      string
	Size      int64
	Version   uint64
	Mtime     int64
	Mountpath string // where the copy is
}

// Key is the HRW key of the item's object.
func (it Item) Key() string { return meta.ObjectKey(it.BucketKey, it.Name) }

// Reason says why a copy moves.
type Reason uint8

const (
	// Changed: the owner changed between the two placements (the node owned it before).
	Changed Reason = iota + 1
	// Stray: the node did not own the copy before either (left behind by an aborted or
	// interrupted move, or written at an older epoch).
	Stray
	// Misplaced: a resilver move, to the object's HRW mountpath within the node.
	Misplaced
)

// Move is one planned move of a copy: to another target (To is its node ID) or, for a
// resilver, to another mountpath of the same target (To is the mountpath).
type Move struct {
	Item   Item
	To     string
	Reason Reason
}

// PlanRebalance returns the moves that take the copies in items, held by node self, to their
// owners under cur. prev, the placement before the change (nil if unknown), only classifies the
// moves. If cur has no targets nothing can move and nothing is planned.
func PlanRebalance(self string, prev, cur *meta.Placement, items []Item) []Move {
	if cur == nil || cur.Len() == 0 {
		return nil
	}
	var out []Move
	for _, it := range items {
		owner, err := cur.Owner(it.Key())
		if err != nil || owner.ID == self {
			continue
		}
		reason := Stray
		if prev != nil && prev.Len() > 0 {
			if before, err := prev.Owner(it.Key()); err == nil && before.ID == self {
				reason = Changed
			}
		}
		out = append(out, Move{Item: it, To: owner.ID, Reason: reason})
	}
	return out
}

// PlanResilver returns the moves that take the copies in items to their HRW mountpath among
// mountpaths (the target's mountpaths in use). With no mountpath in use nothing is planned.
func PlanResilver(mountpaths []string, items []Item) []Move {
	if len(mountpaths) == 0 {
		return nil
	}
	var out []Move
	for _, it := range items {
		if want := meta.Mountpath(it.Key(), mountpaths); want != it.Mountpath {
			out = append(out, Move{Item: it, To: want, Reason: Misplaced})
		}
	}
	return out
}

// PlacementID identifies a set of owners: the IDs and weights of the active targets of a
// snapshot, hashed. Two snapshots with the same ID place every object alike, whatever else
// differs between them (buckets, config, addresses, nodes in maintenance).
func PlacementID(s *meta.Snapshot) uint64 {
	ts := s.ActiveTargets()
	ids := make([]string, 0, len(ts))
	w := map[string]uint32{}
	for _, n := range ts {
		ids = append(ids, n.ID)
		w[n.ID] = n.EffectiveWeight()
	}
	slices.Sort(ids)
	h := xxhash.New()
	var b [4]byte
	for _, id := range ids {
		_, _ = h.WriteString(id)
		binary.BigEndian.PutUint32(b[:], w[id])
		_, _ = h.Write(b[:])
	}
	return h.Sum64()
}

// Holders returns the targets of s that may hold objects and take part in a rebalance: active,
// in maintenance or being decommissioned (down targets cannot take part), sorted by ID.
func Holders(s *meta.Snapshot) []meta.Node {
	var out []meta.Node
	for _, n := range s.NodesByRole(meta.RoleTarget) {
		switch n.State {
		case meta.NodeActive, meta.NodeMaintenance, meta.NodeDecommissioning:
			out = append(out, n)
		}
	}
	return out
}

// Down returns the IDs of the targets of s that are down, sorted.
func Down(s *meta.Snapshot) []string {
	var out []string
	for _, n := range s.NodesByRole(meta.RoleTarget) {
		if n.State == meta.NodeDown {
			out = append(out, n.ID)
		}
	}
	return out
}

// Stats sums a plan by destination and reason, for logs and tests.
type Stats struct {
	Moves, Bytes int64
	ByTo         map[string]int64
	ByReason     map[Reason]int64
}

// Summarize computes the stats of moves.
func Summarize(moves []Move) Stats {
	st := Stats{ByTo: map[string]int64{}, ByReason: map[Reason]int64{}}
	for _, m := range moves {
		st.Moves++
		st.Bytes += m.Item.Size
		st.ByTo[m.To]++
		st.ByReason[m.Reason]++
	}
	return st
}

func (r Reason) String() string {
	switch r {
	case Changed:
		return "changed"
	case Stray:
		return "stray"
	case Misplaced:
		return "misplaced"
	}
	return "unknown"
}
