package meta

import (
	"fmt"
	"math"
	"testing"
)

func targets(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{ID: fmt.Sprintf("t%02d", i), Role: RoleTarget, State: NodeActive}
	}
	return out
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = ObjectKey("ais/train", fmt.Sprintf("shard-%06d.tar", i))
	}
	return out
}

func owners(t *testing.T, p *Placement, keys []string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		n, err := p.Owner(k)
		if err != nil {
			t.Fatal(err)
		}
		m[k] = n.ID
	}
	return m
}

func TestPlacementBalance(t *testing.T) {
	keys := names(100_000)
	got := map[string]int{}
	for _, id := range owners(t, NewPlacement(targets(10)), keys) {
		got[id]++
	}
	mean := float64(len(keys)) / 10
	for id, c := range got {
		if dev := math.Abs(float64(c)-mean) / mean; dev > 0.05 {
			t.Errorf("%s holds %d names, %.1f%% off the mean %.0f", id, c, dev*100, mean)
		}
	}
	if len(got) != 10 {
		t.Errorf("only %d of 10 targets own names", len(got))
	}
}

func TestPlacementAddMovesOnlyToNewTarget(t *testing.T) {
	keys := names(100_000)
	before := owners(t, NewPlacement(targets(10)), keys)
	after := owners(t, NewPlacement(targets(11)), keys)
	moved := 0
	for k, o := range before {
		if after[k] != o {
			moved++
			if after[k] != "t10" {
				t.Fatalf("%s moved from %s to %s, not to the new target", k, o, after[k])
			}
		}
	}
	if limit := float64(len(keys)) * (1.0/11 + 0.01); float64(moved) > limit {
		t.Errorf("adding an 11th target moved %d names; limit %.0f", moved, limit)
	}
	t.Logf("adding an 11th target moved %.2f%% of names (ideal %.2f%%)", 100*float64(moved)/float64(len(keys)), 100.0/11)
}

func TestPlacementRemoveMovesOnlyItsNames(t *testing.T) {
	keys := names(100_000)
	all := targets(10)
	before := owners(t, NewPlacement(all), keys)
	gone := all[3].ID
	after := owners(t, NewPlacement(append(append([]Node(nil), all[:3]...), all[4:]...)), keys)
	for k, o := range before {
		if o != gone && after[k] != o {
			t.Fatalf("%s moved from %s to %s although %s was removed", k, o, after[k], gone)
		}
		if after[k] == gone {
			t.Fatalf("%s still owned by removed target", k)
		}
	}
}

func TestPlacementWeighted(t *testing.T) {
	ts := targets(4)
	ts[0].Weight = 2
	keys := names(100_000)
	got := map[string]int{}
	for _, id := range owners(t, NewPlacement(ts), keys) {
		got[id]++
	}
	// Weights 2,1,1,1: t00 should own 2/5 of the names, the others 1/5 each.
	ratio := float64(got["t00"]) / (float64(got["t01"]+got["t02"]+got["t03"]) / 3)
	if ratio < 1.9 || ratio > 2.1 {
		t.Errorf("weight-2 target owns %.2fx the names of a weight-1 target; want about 2 (%v)", ratio, got)
	}
}

func TestPlacementOrder(t *testing.T) {
	p := NewPlacement(targets(5))
	for _, k := range names(1000) {
		order := p.Order(k, -1)
		owner, _ := p.Owner(k)
		if len(order) != 5 || order[0].ID != owner.ID {
			t.Fatalf("order %v does not start with owner %s", order, owner.ID)
		}
		seen := map[string]bool{}
		for _, n := range order {
			if seen[n.ID] {
				t.Fatalf("duplicate %s in order", n.ID)
			}
			seen[n.ID] = true
		}
	}
	if _, err := NewPlacement(nil).Owner("x"); err != ErrNoTargets {
		t.Fatalf("empty placement: got %v, want ErrNoTargets", err)
	}
}

func TestMountpathBalanceAndOrder(t *testing.T) {
	mps := []string{"/mnt/a", "/mnt/b", "/mnt/c", "/mnt/d"}
	got := map[string]int{}
	for _, k := range names(40_000) {
		mp := Mountpath(k, mps)
		got[mp]++
		if o := MountpathOrder(k, mps); o[0] != mp {
			t.Fatalf("order %v does not start with %s", o, mp)
		}
	}
	for mp, c := range got {
		if c < 9_500 || c > 10_500 {
			t.Errorf("%s holds %d of 40000 names", mp, c)
		}
	}
}

func BenchmarkOwner10(b *testing.B) {
	p := NewPlacement(targets(10))
	keys := names(1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = p.Owner(keys[i&1023])
	}
}

func BenchmarkOwner100(b *testing.B) {
	p := NewPlacement(targets(100))
	keys := names(1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = p.Owner(keys[i&1023])
	}
}
