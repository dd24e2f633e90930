package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// fakeClock fires After channels only when the test ticks.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []chan time.Time
	asked   chan struct{} // receives when someone waits
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1000, 0), asked: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.waiters = append(c.waiters, ch)
	c.mu.Unlock()
	c.asked <- struct{}{}
	return ch
}

// tick waits until someone waits on the clock, then fires every waiter.
func (c *fakeClock) tick(t *testing.T) {
	t.Helper()
	select {
	case <-c.asked:
	case <-time.After(5 * time.Second):
		t.Fatal("nobody waits on the clock")
	}
	c.mu.Lock()
	ws := c.waiters
	c.waiters = nil
	c.now = c.now.Add(time.Second)
	c.mu.Unlock()
	for _, w := range ws {
		w <- c.now
	}
}

// fakeGranter is meta's lease table in miniature.
type fakeGranter struct {
	mu       sync.Mutex
	held     map[string]meta.Lease
	index    uint64
	failNext int // grants to refuse with LeaseHeld
	renewals int
	released bool
}

func (g *fakeGranter) GrantLease(ctx context.Context, job, kind, holder string, ttl time.Duration) (meta.Lease, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.index++
	if g.failNext > 0 {
		g.failNext--
		return meta.Lease{}, meta.ErrLeaseHeld
	}
	if l, ok := g.held[job]; ok && l.Holder == holder {
		return l, nil
	}
	l := meta.Lease{JobID: job, Kind: kind, Holder: holder, Token: g.index, Expires: time.Now().Add(time.Hour).UnixNano()}
	g.held[job] = l
	return l, nil
}

func (g *fakeGranter) RenewLease(ctx context.Context, l meta.Lease, ttl time.Duration) (meta.Lease, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.renewals++
	cur, ok := g.held[l.JobID]
	if !ok {
		return meta.Lease{}, meta.ErrLeaseNotFound
	}
	if cur.Token != l.Token {
		return meta.Lease{}, meta.ErrStaleToken
	}
	return cur, nil
}

func (g *fakeGranter) ReleaseLease(ctx context.Context, job, holder string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.held, job)
	g.released = true
	return nil
}

func TestLeaseHoldRenewRegrant(t *testing.T) {
	g := &fakeGranter{held: map[string]meta.Lease{}, failNext: 2}
	clk := newFakeClock()
	done := make(chan *Lease)
	go func() {
		l, err := Hold(context.Background(), g, LeaseArgs{JobID: "rebalance-5/t1", Kind: "rebalance", Holder: "t1", TTL: 3 * time.Second, Clock: clk})
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	clk.tick(t) // first refusal's backoff
	clk.tick(t) // second refusal's backoff
	l := <-done
	first := l.Token()
	if first != 3 {
		t.Fatalf("token %d, want 3 (the third grant's index)", first)
	}
	clk.tick(t) // a renewal
	clk.tick(t) // the next wait begins only after the renewal is done
	g.mu.Lock()
	if g.renewals != 1 {
		t.Errorf("%d renewals", g.renewals)
	}
	delete(g.held, "rebalance-5/t1") // meta lost it (expired)
	g.mu.Unlock()
	clk.tick(t) // renewal fails, grant again
	clk.tick(t)
	if l.Token() <= first {
		t.Fatalf("token after re-grant %d, want > %d", l.Token(), first)
	}
	l.Release(context.Background())
	if !g.released {
		t.Fatal("not released")
	}
}

func TestLeaseHoldGivesUpWithContext(t *testing.T) {
	g := &fakeGranter{held: map[string]meta.Lease{}, failNext: 1000}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hold(ctx, g, LeaseArgs{JobID: "j", Holder: "t1"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestFence(t *testing.T) {
	f := NewFence()
	steps := []struct {
		lease string
		token uint64
		ok    bool
	}{
		{"a", 5, true}, {"a", 5, true}, {"a", 7, true}, {"a", 6, false}, {"b", 1, true}, {"a", 7, true},
	}
	for i, s := range steps {
		err := f.Admit(s.lease, s.token)
		if (err == nil) != s.ok {
			t.Fatalf("step %d: %v", i, err)
		}
		if err != nil && !errors.Is(err, meta.ErrStaleToken) {
			t.Fatalf("step %d: %v is not ErrStaleToken", i, err)
		}
	}
}
