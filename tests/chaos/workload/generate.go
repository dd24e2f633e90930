package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Mix is the share (out of the sum) of each operation a client picks.
type Mix struct {
	Get, Put, Delete, List int
	// CAS is the share of conditional PUTs (S3 clients; the others do a plain PUT instead).
	CAS int
}

// Options shape a workload.
type Options struct {
	// Prefix starts every key of the workload; listings use it.
	Prefix string
	// Keys is the number of keys in play at once (register workload).
	Keys int
	// WritesPerKey retires a key after this many writes and brings in a fresh one, so each
	// key's history stays small enough for the linearizability search.
	WritesPerKey int
	// UnknownPerKey retires a key after this many writes of unknown outcome: each may take
	// effect at any later time, and the search grows exponentially with their number (0: no
	// limit).
	UnknownPerKey int
	Mix           Mix
	// Pause is the longest random pause between two operations of one client.
	Pause time.Duration
	// Sizes picks body sizes; nil uses sizeFor (mostly 1-16 KiB).
	Sizes func(*rand.Rand) int
	// Multipart is the percentage of an S3 client's writes (durability workload) made as
	// multipart uploads; one in mpuLargeOneIn of them is large enough for two parts.
	Multipart int
}

// mpuLargeOneIn: one multipart upload in this many has two parts (5 MiB and a tail).
const mpuLargeOneIn = 8

// Register runs the register workload until ctx ends: every client reads, writes, deletes and
// lists a small shared set of keys, so that operations on a key overlap and race with faults.
func Register(ctx context.Context, clients []*Client, seed uint64, o Options) {
	ks := &keyspace{prefix: o.Prefix, max: o.WritesPerKey, maxUnknown: o.UnknownPerKey}
	for i := 0; i < o.Keys; i++ {
		ks.slots = append(ks.slots, ks.fresh())
		ks.writes = append(ks.writes, 0)
		ks.unknown = append(ks.unknown, 0)
	}
	run(ctx, clients, seed, func(c *Client, rng *rand.Rand) {
		var e history.Event
		switch pick(rng, o.Mix) {
		case history.Get:
			c.Get(ctx, ks.pick(rng, false))
		case history.Put:
			e = c.Put(ctx, ks.pick(rng, true), size(rng, o))
		case history.CAS:
			e = c.CAS(ctx, ks.pick(rng, true), size(rng, o))
		case history.Delete:
			e = c.Delete(ctx, ks.pick(rng, true))
		case history.List:
			c.List(ctx, o.Prefix)
		}
		if e.Type == history.Info {
			ks.unknownWrite(e.Key)
		}
	}, o.Pause)
}

// Durability runs the durability workload until ctx ends: every client mostly creates new
// keys of its own (so the ledger grows with every acknowledged write), and also overwrites,
// deletes and reads keys it created.
func Durability(ctx context.Context, clients []*Client, seed uint64, o Options) {
	run(ctx, clients, seed, func(c *Client, rng *rand.Rand) {
		own := c.ownKeys()
		op := pick(rng, o.Mix)
		if len(own) == 0 || op == history.Put && rng.IntN(4) > 0 {
			key := fmt.Sprintf("%s%s/%06d", o.Prefix, c.Name, len(own))
			c.addOwnKey(key)
			write(ctx, c, rng, o, key)
			return
		}
		key := own[rng.IntN(len(own))]
		switch op {
		case history.Get:
			c.Get(ctx, key)
		case history.Put:
			write(ctx, c, rng, o, key)
		case history.CAS:
			c.CAS(ctx, key, size(rng, o))
		case history.Delete:
			c.Delete(ctx, key)
		case history.List:
			c.List(ctx, o.Prefix)
		}
	}, o.Pause)
}

// write is a durability write: a PUT, or for S3 clients sometimes a multipart upload.
func write(ctx context.Context, c *Client, rng *rand.Rand, o Options, key string) {
	if c.Kind == S3 && o.Multipart > 0 && rng.IntN(100) < o.Multipart {
		n := size(rng, o)
		if rng.IntN(mpuLargeOneIn) == 0 {
			n += mpuPartSize
		}
		c.PutMultipart(ctx, key, n)
		return
	}
	c.Put(ctx, key, size(rng, o))
}

// run starts one goroutine per client, each with its own generator derived from seed, and
// waits for all of them.
func run(ctx context.Context, clients []*Client, seed uint64, step func(*Client, *rand.Rand), pause time.Duration) {
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
			for ctx.Err() == nil {
				step(c, rng)
				if pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(time.Duration(rng.Int64N(int64(pause)))):
					}
				}
			}
		}()
	}
	wg.Wait()
}

func pick(rng *rand.Rand, m Mix) string {
	total := m.Get + m.Put + m.Delete + m.List + m.CAS
	if total <= 0 {
		return history.Get
	}
	x := rng.IntN(total)
	switch {
	case x < m.Get:
		return history.Get
	case x < m.Get+m.Put:
		return history.Put
	case x < m.Get+m.Put+m.Delete:
		return history.Delete
	case x < m.Get+m.Put+m.Delete+m.List:
		return history.List
	}
	return history.CAS
}

func size(rng *rand.Rand, o Options) int {
	if o.Sizes != nil {
		return o.Sizes(rng)
	}
	return sizeFor(rng)
}

// keyspace is the register workload's set of keys in play.
type keyspace struct {
	prefix string
	max    int

	maxUnknown int

	mu      sync.Mutex // guards the following
	gen     int
	slots   []string
	writes  []int
	unknown []int
}

func (k *keyspace) fresh() string {
	k.gen++
	return fmt.Sprintf("%s%04d", k.prefix, k.gen)
}

// pick returns a key in play; a write counts against the key and may retire it.
func (k *keyspace) pick(rng *rand.Rand, write bool) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := rng.IntN(len(k.slots))
	key := k.slots[i]
	if write {
		k.writes[i]++
		if k.max > 0 && k.writes[i] >= k.max {
			k.slots[i], k.writes[i], k.unknown[i] = k.fresh(), 0, 0
		}
	}
	return key
}

// unknownWrite counts a write of unknown outcome against key and retires it at maxUnknown.
func (k *keyspace) unknownWrite(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, s := range k.slots {
		if s == key {
			k.unknown[i]++
			if k.maxUnknown > 0 && k.unknown[i] >= k.maxUnknown {
				k.slots[i], k.writes[i], k.unknown[i] = k.fresh(), 0, 0
			}
			return
		}
	}
}

// Keys returns every key written or read in events, sorted.
func Keys(events []history.Event) []string {
	seen := map[string]bool{}
	for _, e := range events {
		if e.Process != history.Nemesis && e.Key != "" {
			seen[e.Key] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
