package balancer

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/aisfoundry/ais/jobs"
)

// Limiter caps a byte rate shared by many streams (a token bucket holding at most one second's
// worth). A rate of 0 means no cap. It is safe for concurrent use; the rate may change at any
// time (the cluster's rebalance.bandwidth).
type Limiter struct {
	clock jobs.Clock
	mu    struct {
		sync.Mutex
		rate   int64 // bytes per second; 0: unlimited
		tokens float64
		last   time.Time
	}
}

// NewLimiter returns a limiter of rate bytes per second (0: no cap). clock may be nil.
func NewLimiter(rate int64, clock jobs.Clock) *Limiter {
	if clock == nil {
		clock = jobs.RealClock
	}
	l := &Limiter{clock: clock}
	l.mu.rate = rate
	l.mu.last = clock.Now()
	return l
}

// SetRate changes the rate.
func (l *Limiter) SetRate(rate int64) {
	l.mu.Lock()
	if rate != l.mu.rate {
		l.mu.rate = max(rate, 0)
		l.mu.tokens = 0
		l.mu.last = l.clock.Now()
	}
	l.mu.Unlock()
}

// Rate returns the current rate (0: no cap).
func (l *Limiter) Rate() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.rate
}

// reserve takes n bytes' worth of tokens and returns how long the caller must wait for them.
func (l *Limiter) reserve(n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.rate <= 0 {
		return 0
	}
	now := l.clock.Now()
	rate := float64(l.mu.rate)
	l.mu.tokens = min(l.mu.tokens+now.Sub(l.mu.last).Seconds()*rate, rate)
	l.mu.last = now
	l.mu.tokens -= float64(n)
	if l.mu.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.mu.tokens / rate * float64(time.Second))
}

// Wait blocks until n more bytes may pass, or ctx ends.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	d := l.reserve(n)
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-l.clock.After(d):
		return nil
	}
}

// Reader returns r slowed down to the limiter's rate.
func (l *Limiter) Reader(ctx context.Context, r io.Reader) io.Reader {
	if l == nil {
		return r
	}
	return &limitedReader{ctx: ctx, r: r, l: l}
}

type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *Limiter
}

// maxChunk bounds one read, so that a low rate is kept smoothly.
const maxChunk = 64 << 10

func (lr *limitedReader) Read(p []byte) (int, error) {
	if len(p) > maxChunk && lr.l.Rate() > 0 {
		p = p[:maxChunk]
	}
	n, err := lr.r.Read(p)
	if n > 0 {
		if werr := lr.l.Wait(lr.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}
