package balancer

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// stepClock advances by what callers wait for, so rate tests need not sleep.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	waited time.Duration
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waited += d
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func TestLimiterRate(t *testing.T) {
	tests := []struct {
		rate  int64
		bytes int
		want  time.Duration // about
	}{
		{0, 10 << 20, 0},
		{1 << 20, 4 << 20, 4 * time.Second},
		{10 << 20, 25 << 20, 2500 * time.Millisecond},
	}
	for _, tc := range tests {
		clk := &stepClock{now: time.Unix(0, 0)}
		l := NewLimiter(tc.rate, clk)
		n, err := io.Copy(io.Discard, l.Reader(context.Background(), bytes.NewReader(make([]byte, tc.bytes))))
		if err != nil || n != int64(tc.bytes) {
			t.Fatal(n, err)
		}
		// The first second's worth of tokens is not banked at start, so the wait is the
		// whole amount over the rate.
		if d := clk.waited - tc.want; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("rate %d, %d bytes: waited %s, want about %s", tc.rate, tc.bytes, clk.waited, tc.want)
		}
	}
}

func TestLimiterSetRateAndCancel(t *testing.T) {
	clk := &stepClock{now: time.Unix(0, 0)}
	l := NewLimiter(0, clk)
	if d := l.reserve(1 << 30); d != 0 {
		t.Fatalf("unlimited waits %s", d)
	}
	l.SetRate(1 << 20)
	if d := l.reserve(2 << 20); d < 1900*time.Millisecond {
		t.Fatalf("wait %s after setting 1 MiB/s", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	real := NewLimiter(1, nil)
	if err := real.Wait(ctx, 1000); err == nil {
		t.Fatal("wait ignored a cancelled context")
	}
}
