package meta

import (
	"math"
	"sort"

	"github.com/cespare/xxhash/v2"
)

// Placement answers "which target owns this object" for one epoch by highest-random-weight
// (rendezvous) hashing: each candidate scores hash(key) mixed with its ID digest, optionally
// weighted, and the highest score wins. Adding a candidate moves only the keys it now wins;
// removing one moves only its own keys. Build one per epoch; it is safe for concurrent use.
type Placement struct {
	nodes    []Node
	digests  []uint64
	weights  []float64
	weighted bool
}

// NewPlacement builds the placement over the given targets (usually Snapshot.ActiveTargets()).
func NewPlacement(targets []Node) *Placement {
	p := &Placement{nodes: append([]Node(nil), targets...)}
	sort.Slice(p.nodes, func(i, j int) bool { return p.nodes[i].ID < p.nodes[j].ID })
	p.digests = make([]uint64, len(p.nodes))
	p.weights = make([]float64, len(p.nodes))
	for i := range p.nodes {
		p.digests[i] = xxhash.Sum64String(p.nodes[i].ID)
		w := p.nodes[i].EffectiveWeight()
		p.weights[i] = float64(w)
		if w != 1 {
			p.weighted = true
		}
	}
	return p
}

// Len is the number of candidates.
func (p *Placement) Len() int { return len(p.nodes) }

// ObjectKey is the placement key of an object: "provider/bucket/object".
func ObjectKey(bucketKey, object string) string { return bucketKey + "/" + object }

// Owner returns the target that owns key, or ErrNoTargets.
func (p *Placement) Owner(key string) (Node, error) {
	if len(p.nodes) == 0 {
		return Node{}, ErrNoTargets
	}
	h := xxhash.Sum64String(key)
	best, bestScore := 0, -1.0
	var bestRaw uint64
	for i, d := range p.digests {
		s := mix(h, d)
		if !p.weighted {
			if i == 0 || s > bestRaw {
				best, bestRaw = i, s
			}
			continue
		}
		if sc := weightedScore(s, p.weights[i]); sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return p.nodes[best], nil
}

// Order returns up to n candidates in descending HRW order for key: the owner first, then the
// targets that would own it if those before them were gone (where EC slices go).
func (p *Placement) Order(key string, n int) []Node {
	h := xxhash.Sum64String(key)
	type scored struct {
		i     int
		raw   uint64
		score float64
	}
	all := make([]scored, len(p.nodes))
	for i, d := range p.digests {
		s := mix(h, d)
		all[i] = scored{i: i, raw: s, score: weightedScore(s, p.weights[i])}
	}
	sort.Slice(all, func(a, b int) bool {
		if p.weighted {
			return all[a].score > all[b].score
		}
		return all[a].raw > all[b].raw
	})
	if n > len(all) || n < 0 {
		n = len(all)
	}
	out := make([]Node, n)
	for k := 0; k < n; k++ {
		out[k] = p.nodes[all[k].i]
	}
	return out
}

// Mountpath returns the mountpath among mountpaths that owns key (plain HRW), or "" if none.
func Mountpath(key string, mountpaths []string) string {
	h := xxhash.Sum64String(key)
	var best string
	var bestScore uint64
	for i, mp := range mountpaths {
		if s := mix(h, xxhash.Sum64String(mp)); i == 0 || s > bestScore {
			best, bestScore = mp, s
		}
	}
	return best
}

// MountpathOrder returns mountpaths in descending HRW order for key (mirror copies go to the
// second, third, ...).
func MountpathOrder(key string, mountpaths []string) []string {
	h := xxhash.Sum64String(key)
	out := append([]string(nil), mountpaths...)
	scores := make(map[string]uint64, len(out))
	for _, mp := range out {
		scores[mp] = mix(h, xxhash.Sum64String(mp))
	}
	sort.Slice(out, func(a, b int) bool { return scores[out[a]] > scores[out[b]] })
	return out
}

// mix combines a key hash and a node digest into a well-spread 64-bit score (the murmur3
// finalizer over their XOR).
func mix(h, d uint64) uint64 {
	x := h ^ d
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// weightedScore maps a uniform 64-bit hash to w / -ln(u), u in (0,1): the logarithmic method,
// under which a candidate of weight w wins a share of keys proportional to w.
func weightedScore(s uint64, w float64) float64 {
	u := (float64(s>>11) + 0.5) / (1 << 53)
	return w / -math.Log(u)
}
