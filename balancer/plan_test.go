package balancer

import (
	"fmt"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func nodes(ids ...string) []meta.Node {
	out := make([]meta.Node, len(ids))
	for i, id := range ids {
		out[i] = meta.Node{ID: id, Role: meta.RoleTarget, State: meta.NodeActive}
	}
	return out
}

// inventory returns, for each node of p, the items it owns under p.
func inventory(p *meta.Placement, n int) map[string][]Item {
	inv := map[string][]Item{}
	for i := 0; i < n; i++ {
		it := Item{BucketKey: "ais/data", Name: fmt.Sprintf("obj-%05d", i), Size: 1000}
		o, _ := p.Owner(it.Key())
		inv[o.ID] = append(inv[o.ID], it)
	}
	return inv
}

func TestPlanRebalance(t *testing.T) {
	three := meta.NewPlacement(nodes("t0", "t1", "t2"))
	four := meta.NewPlacement(nodes("t0", "t1", "t2", "t3"))
	two := meta.NewPlacement(nodes("t0", "t2"))
	const total = 20000
	tests := []struct {
		name      string
		prev, cur *meta.Placement
		// check verifies the moves of every node.
		check func(t *testing.T, byNode map[string][]Move, moved int)
	}{
		{"join: only to the new target, about a quarter", three, four, func(t *testing.T, byNode map[string][]Move, moved int) {
			for from, ms := range byNode {
				for _, m := range ms {
					if m.To != "t3" || m.Reason != Changed {
						t.Fatalf("%s: %s moves to %s (%s)", from, m.Item.Name, m.To, m.Reason)
					}
				}
			}
			if f := float64(moved) / total; f < 0.23 || f > 0.27 {
				t.Fatalf("moved fraction %.3f, want about 0.25", f)
			}
		}},
		{"leave: only the leaver's objects", three, two, func(t *testing.T, byNode map[string][]Move, moved int) {
			for from := range byNode {
				if from != "t1" && len(byNode[from]) > 0 {
					t.Fatalf("%s moves %d objects; only t1 should", from, len(byNode[from]))
				}
			}
			if f := float64(moved) / total; f < 0.30 || f > 0.37 {
				t.Fatalf("moved fraction %.3f, want about a third", f)
			}
		}},
		{"no change: nothing moves", three, three, func(t *testing.T, byNode map[string][]Move, moved int) {
			if moved != 0 {
				t.Fatalf("%d moves", moved)
			}
		}},
		{"no targets: nothing can move", three, meta.NewPlacement(nil), func(t *testing.T, byNode map[string][]Move, moved int) {
			if moved != 0 {
				t.Fatalf("%d moves", moved)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := inventory(tc.prev, total)
			byNode := map[string][]Move{}
			moved := 0
			for id, items := range inv {
				ms := PlanRebalance(id, tc.prev, tc.cur, items)
				byNode[id] = ms
				moved += len(ms)
				for _, m := range ms {
					if o, _ := tc.cur.Owner(m.Item.Key()); o.ID != m.To {
						t.Fatalf("move of %s to %s, owner is %s", m.Item.Name, m.To, o.ID)
					}
				}
			}
			tc.check(t, byNode, moved)
		})
	}
}

func TestPlanRebalanceStrays(t *testing.T) {
	p := meta.NewPlacement(nodes("t0", "t1"))
	// t5 (not a target any more, or in maintenance) holds copies: all go, as strays.
	items := []Item{{BucketKey: "ais/b", Name: "x"}, {BucketKey: "ais/b", Name: "y"}}
	ms := PlanRebalance("t5", p, p, items)
	if len(ms) != 2 {
		t.Fatalf("%d moves", len(ms))
	}
	for _, m := range ms {
		if m.Reason != Stray {
			t.Fatalf("reason %s", m.Reason)
		}
	}
	st := Summarize(ms)
	if st.Moves != 2 || st.ByReason[Stray] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPlanResilver(t *testing.T) {
	mps := []string{"/a", "/b", "/c"}
	var items []Item
	for i := 0; i < 3000; i++ {
		it := Item{BucketKey: "ais/b", Name: fmt.Sprintf("o%d", i)}
		it.Mountpath = meta.Mountpath(it.Key(), mps)
		items = append(items, it)
	}
	if ms := PlanResilver(mps, items); len(ms) != 0 {
		t.Fatalf("%d moves with nothing changed", len(ms))
	}
	// Detach /b: only its copies move, each to its HRW mountpath among /a and /c.
	left := []string{"/a", "/c"}
	ms := PlanResilver(left, items)
	onB := 0
	for _, it := range items {
		if it.Mountpath == "/b" {
			onB++
		}
	}
	if len(ms) != onB {
		t.Fatalf("%d moves, %d copies on /b", len(ms), onB)
	}
	for _, m := range ms {
		if m.Item.Mountpath != "/b" || m.To != meta.Mountpath(m.Item.Key(), left) || m.Reason != Misplaced {
			t.Fatalf("bad move %+v", m)
		}
	}
	if ms := PlanResilver(nil, items); ms != nil {
		t.Fatal("moves with no mountpath")
	}
}

func TestPlacementIDAndHolders(t *testing.T) {
	s := meta.NewSnapshot()
	for _, n := range nodes("t0", "t1", "t2") {
		s.Nodes[n.ID] = n
	}
	s.Nodes["g0"] = meta.Node{ID: "g0", Role: meta.RoleGateway, State: meta.NodeActive}
	base := PlacementID(s)
	same := s.Clone()
	same.Epoch = 9
	same.Buckets["ais/x"] = meta.Bucket{Name: "x"}
	n := same.Nodes["t0"]
	n.PublicURL = "http://elsewhere:1"
	same.Nodes["t0"] = n
	if PlacementID(same) != base {
		t.Fatal("placement ID changed without a placement change")
	}
	maint := s.Clone()
	n = maint.Nodes["t1"]
	n.State = meta.NodeMaintenance
	maint.Nodes["t1"] = n
	if PlacementID(maint) == base {
		t.Fatal("placement ID unchanged after a target left the active set")
	}
	weighted := s.Clone()
	n = weighted.Nodes["t2"]
	n.Weight = 3
	weighted.Nodes["t2"] = n
	if PlacementID(weighted) == base {
		t.Fatal("placement ID unchanged after a weight change")
	}
	down := maint.Clone()
	n = down.Nodes["t2"]
	n.State = meta.NodeDown
	down.Nodes["t2"] = n
	var ids []string
	for _, h := range Holders(down) {
		ids = append(ids, h.ID)
	}
	if fmt.Sprint(ids) != "[t0 t1]" || fmt.Sprint(Down(down)) != "[t2]" {
		t.Fatalf("holders %v, down %v", ids, Down(down))
	}
}
