package target

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// stepClock is a Clock whose time moves only when a caller waits: After(d) advances it by d.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	waited time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waited += d
	ch := make(chan time.Time, 1)
	ch <- c.now
	c.mu.Unlock()
	return ch
}

func TestThrottledFS(t *testing.T) {
	dir := t.TempDir()
	mp1, mp2, other := filepath.Join(dir, "mp1"), filepath.Join(dir, "mp2"), filepath.Join(dir, "other")
	for _, d := range []string{mp1, mp2, other} {
		if err := (OSFS{}).MkdirAll(d); err != nil {
			t.Fatal(err)
		}
	}
	const rate = 1 << 20 // 1 MiB/s
	data := bytes.Repeat([]byte("x"), 256<<10)
	tests := []struct {
		name       string
		dir        string
		wantWaited time.Duration // for writing and then reading data
	}{
		{"mountpath", mp1, 500*time.Millisecond - limiterBurst},
		{"another mountpath has its own budget", mp2, 500*time.Millisecond - limiterBurst},
		{"outside the mountpaths", other, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &stepClock{now: time.Unix(1000, 0)}
			fsys := NewThrottledFS(OSFS{}, []string{mp1, mp2}, rate, clock)
			f, err := fsys.Create(filepath.Join(tt.dir, "obj"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				t.Fatal(err)
			}
			f.Close()
			f, err = fsys.Open(filepath.Join(tt.dir, "obj"))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(data))
			if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			if _, ok := f.(osFiler); ok && tt.wantWaited > 0 {
				t.Fatal("a throttled file offers its *os.File (sendfile would bypass the limit)")
			}
			f.Close()
			if d := clock.waited - tt.wantWaited; d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("waited %v, want %v", clock.waited, tt.wantWaited)
			}
		})
	}
}

// TestRateLimiterShared checks that concurrent callers share the budget: together they take as
// long as one caller moving all the bytes.
func TestRateLimiterShared(t *testing.T) {
	clock := &fixedClock{now: time.Unix(1000, 0)}
	lim := &rateLimiter{bytesPerSec: 1000, clock: clock}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 10 {
				lim.take(10)
			}
		})
	}
	wg.Wait()
	// 1000 bytes at 1000 B/s, the first 50 ms of them from the saved-up idle time: the last
	// booking ends 950 ms after the start.
	if end := lim.next.Sub(time.Unix(1000, 0)); end != time.Second-limiterBurst {
		t.Fatalf("the bookings end %v after the start, want %v", end, time.Second-limiterBurst)
	}
}

// fixedClock never moves; After returns at once.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

func (c *fixedClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}
