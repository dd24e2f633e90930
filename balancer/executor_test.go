package balancer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// cluster is an in-memory set of nodes holding items; fakeNode is one of them.
type cluster struct {
	mu    sync.Mutex
	held  map[string]map[string]Item // node -> key -> item
	place atomic.Pointer[meta.Placement]
	gen   atomic.Uint64
	// failTo makes sends to a node fail while set.
	failTo sync.Map
	// refuse makes the destination answer Refused for a key.
	refuse sync.Map
}

func newCluster(ids ...string) *cluster {
	c := &cluster{held: map[string]map[string]Item{}}
	for _, id := range ids {
		c.held[id] = map[string]Item{}
	}
	c.setPlacement(meta.NewPlacement(nodes(ids...)))
	return c
}

func (c *cluster) setPlacement(p *meta.Placement) { c.place.Store(p); c.gen.Add(1) }

func (c *cluster) put(node string, it Item) {
	c.mu.Lock()
	if c.held[node] == nil {
		c.held[node] = map[string]Item{}
	}
	c.held[node][it.Key()] = it
	c.mu.Unlock()
}

func (c *cluster) where(key string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n, m := range c.held {
		if _, ok := m[key]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

type fakeNode struct {
	c    *cluster
	self string
	// walkHook runs after the first walked item of every pass.
	walkHook func()
}

func (n *fakeNode) Walk(ctx context.Context, fn func(Item) error) error {
	n.c.mu.Lock()
	items := make([]Item, 0, len(n.c.held[n.self]))
	for _, it := range n.c.held[n.self] {
		items = append(items, it)
	}
	n.c.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	for i, it := range items {
		if err := fn(it); err != nil {
			return err
		}
		if i == 0 && n.walkHook != nil {
			n.walkHook()
		}
	}
	return nil
}

func (n *fakeNode) Plan(items []Item) []Move {
	return PlanRebalance(n.self, nil, n.c.place.Load(), items)
}
func (n *fakeNode) Generation() uint64 { return n.c.gen.Load() }

func (n *fakeNode) Send(ctx context.Context, m Move) (Outcome, error) {
	if _, bad := n.c.failTo.Load(m.To); bad {
		return 0, errors.New("unreachable")
	}
	if _, no := n.c.refuse.Load(m.Item.Key()); no {
		return Refused, nil
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if have, ok := n.c.held[m.To][m.Item.Key()]; ok && have.Version >= m.Item.Version {
		return Kept, nil
	}
	if n.c.held[m.To] == nil {
		n.c.held[m.To] = map[string]Item{}
	}
	n.c.held[m.To][m.Item.Key()] = m.Item
	return Stored, nil
}

func (n *fakeNode) Remove(ctx context.Context, m Move) error {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if cur, ok := n.c.held[n.self][m.Item.Key()]; ok && cur.Version == m.Item.Version {
		delete(n.c.held[n.self], m.Item.Key())
	}
	return nil
}

func testConfig() Config {
	return Config{Workers: 4, Batch: 7, Grace: time.Millisecond, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}
}

func runJob(t *testing.T, reg *jobs.Registry, id string, n Node, cfg Config) meta.JobStatus {
	t.Helper()
	if _, err := reg.Start("rebalance", id, 1, func(ctx context.Context, j *jobs.Job) error { return Run(ctx, j, n, cfg) }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := reg.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkPlaced verifies that every key sits at its owner only.
func checkPlaced(t *testing.T, c *cluster, keys []string) {
	t.Helper()
	p := c.place.Load()
	for _, k := range keys {
		o, _ := p.Owner(k)
		if got := c.where(k); fmt.Sprint(got) != fmt.Sprint([]string{o.ID}) {
			t.Fatalf("%s is on %v, want only %s", k, got, o.ID)
		}
	}
}

func seed(c *cluster, owners []string, n int) []string {
	p := meta.NewPlacement(nodes(owners...))
	var keys []string
	for i := 0; i < n; i++ {
		it := Item{BucketKey: "ais/b", Name: fmt.Sprintf("o%04d", i), Size: int64(i), Version: 1}
		o, _ := p.Owner(it.Key())
		c.put(o.ID, it)
		keys = append(keys, it.Key())
	}
	return keys
}

func TestRunMovesEverythingOnce(t *testing.T) {
	c := newCluster("t0", "t1", "t2")
	keys := seed(c, []string{"t0", "t1", "t2"}, 500)
	c.setPlacement(meta.NewPlacement(nodes("t0", "t1", "t2", "t3")))
	reg := jobs.NewRegistry("x", nil, nil)
	defer reg.Close()
	var sent int64
	for _, id := range []string{"t0", "t1", "t2"} {
		st := runJob(t, reg, "reb-"+id, &fakeNode{c: c, self: id}, testConfig())
		if st.State != meta.JobFinished {
			t.Fatalf("%s: %s %s", id, st.State, st.Error)
		}
		sent += st.Counters.SentObjects
	}
	checkPlaced(t, c, keys)
	if want := int64(len(c.held["t3"])); sent != want {
		t.Fatalf("sent %d, t3 holds %d", sent, want)
	}
}

func TestRunRetriesFailedMoves(t *testing.T) {
	c := newCluster("t0", "t1")
	keys := seed(c, []string{"t0"}, 200)
	c.failTo.Store("t1", true)
	n := &fakeNode{c: c, self: "t0"}
	passes := 0
	n.walkHook = func() {
		passes++
		if passes == 3 {
			c.failTo.Delete("t1") // the destination comes back during the third pass
		}
	}
	reg := jobs.NewRegistry("x", nil, nil)
	defer reg.Close()
	st := runJob(t, reg, "reb", n, testConfig())
	if st.State != meta.JobFinished || st.Counters.Errors == 0 {
		t.Fatalf("state %s, errors %d", st.State, st.Counters.Errors)
	}
	checkPlaced(t, c, keys)
}

func TestRunFollowsNewPlacementMidPass(t *testing.T) {
	c := newCluster("t0", "t1")
	keys := seed(c, []string{"t0"}, 300)
	n := &fakeNode{c: c, self: "t0"}
	once := sync.Once{}
	n.walkHook = func() {
		once.Do(func() { c.setPlacement(meta.NewPlacement(nodes("t0", "t1", "t2"))) })
	}
	reg := jobs.NewRegistry("x", nil, nil)
	defer reg.Close()
	if st := runJob(t, reg, "reb", n, testConfig()); st.State != meta.JobFinished {
		t.Fatalf("%s %s", st.State, st.Error)
	}
	// t1's copies of keys that t2 now owns are strays; t1 runs too.
	if st := runJob(t, reg, "reb-t1", &fakeNode{c: c, self: "t1"}, testConfig()); st.State != meta.JobFinished {
		t.Fatal(st.State)
	}
	checkPlaced(t, c, keys)
}

func TestRunRefusedAndKeptDropTheCopy(t *testing.T) {
	c := newCluster("t0", "t1")
	keys := seed(c, []string{"t0"}, 50)
	p := c.place.Load()
	var refused, kept string
	for _, k := range keys {
		if o, _ := p.Owner(k); o.ID == "t1" {
			if refused == "" {
				refused = k
			} else if kept == "" {
				kept = k
			}
		}
	}
	c.refuse.Store(refused, true)
	// t1 already has a newer version of kept.
	c.mu.Lock()
	it := c.held["t0"][kept]
	it.Version = 9
	c.held["t1"][kept] = it
	c.mu.Unlock()
	reg := jobs.NewRegistry("x", nil, nil)
	defer reg.Close()
	runJob(t, reg, "reb", &fakeNode{c: c, self: "t0"}, testConfig())
	if w := c.where(refused); len(w) != 0 {
		t.Fatalf("refused copy still on %v", w)
	}
	if w := c.where(kept); fmt.Sprint(w) != "[t1]" {
		t.Fatalf("kept object on %v", w)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held["t1"][kept].Version != 9 {
		t.Fatal("the destination's newer version was overwritten")
	}
}

func TestRunAbortKeepsUnconfirmedCopies(t *testing.T) {
	c := newCluster("t0", "t1")
	seed(c, []string{"t0"}, 100)
	c.failTo.Store("t1", true)
	reg := jobs.NewRegistry("x", nil, nil)
	defer reg.Close()
	cfg := testConfig()
	cfg.RetryMin, cfg.RetryMax = time.Hour, time.Hour
	j, _ := reg.Start("rebalance", "reb", 1, func(ctx context.Context, j *jobs.Job) error {
		return Run(ctx, j, &fakeNode{c: c, self: "t0"}, cfg)
	})
	for j.Counters().Errors == 0 {
		time.Sleep(time.Millisecond)
	}
	st, _ := reg.Abort(context.Background(), "reb")
	if st.State != meta.JobAborted {
		t.Fatalf("state %s", st.State)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held["t0"]) != 100 {
		t.Fatalf("t0 holds %d of 100 after an abort with nothing confirmed", len(c.held["t0"]))
	}
}

func TestRunWaitsGraceBeforeRemoving(t *testing.T) {
	c := newCluster("t0", "t1")
	keys := seed(c, []string{"t0"}, 20)
	c.setPlacement(meta.NewPlacement(nodes("t1")))
	cfg := testConfig()
	cfg.Grace = 300 * time.Millisecond
	reg := jobs.NewRegistry("x", nil, nil)
	defer reg.Close()
	start := time.Now()
	seenBoth := false
	n := &fakeNode{c: c, self: "t0"}
	j, _ := reg.Start("rebalance", "reb", 1, func(ctx context.Context, j *jobs.Job) error { return Run(ctx, j, n, cfg) })
	for {
		if len(c.where(keys[0])) == 2 {
			seenBoth = true
		}
		select {
		case <-j.Done():
		default:
			time.Sleep(5 * time.Millisecond)
			continue
		}
		break
	}
	if !seenBoth {
		t.Fatal("never saw the copy at both ends during the grace period")
	}
	if el := time.Since(start); el < cfg.Grace {
		t.Fatalf("finished after %s, before the grace period", el)
	}
	checkPlaced(t, c, keys)
}
