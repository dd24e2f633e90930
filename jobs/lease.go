package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// Clock is the time source of lease renewal; tests substitute their own.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the system clock.
var RealClock Clock = realClock{}

// Granter asks meta for leases (the node implements it over its meta client).
type Granter interface {
	GrantLease(ctx context.Context, jobID, kind, holder string, ttl time.Duration) (meta.Lease, error)
	RenewLease(ctx context.Context, l meta.Lease, ttl time.Duration) (meta.Lease, error)
	ReleaseLease(ctx context.Context, jobID, holder string) error
}

// Lease is a job's lease, kept alive in the background until Release. Its Token is the fencing
// token to carry on every write the job makes on another node; it grows when meta had to grant
// the lease again (after it expired).
type Lease struct {
	g      Granter
	jobID  string
	kind   string
	holder string
	ttl    time.Duration
	clock  Clock
	log    *slog.Logger

	cur    atomic.Pointer[meta.Lease]
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// LeaseArgs describe a lease to hold.
type LeaseArgs struct {
	JobID, Kind, Holder string
	// TTL is the lease's time to live; 0 takes the cluster's lease_ttl. It is renewed every
	// third of it.
	TTL   time.Duration
	Clock Clock        // nil: the system clock
	Log   *slog.Logger // may be nil
}

// Hold obtains the lease, retrying (with backoff) while another holder has it or meta does not
// answer, until ctx ends; then it renews it in the background until Release.
func Hold(ctx context.Context, g Granter, a LeaseArgs) (*Lease, error) {
	if a.Clock == nil {
		a.Clock = RealClock
	}
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	l := &Lease{g: g, jobID: a.JobID, kind: a.Kind, holder: a.Holder, ttl: a.TTL, clock: a.Clock,
		log: a.Log, done: make(chan struct{})}
	first, err := l.grant(ctx)
	if err != nil {
		return nil, err
	}
	l.cur.Store(&first)
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.renew(rctx)
	return l, nil
}

func (l *Lease) grant(ctx context.Context) (meta.Lease, error) {
	backoff := 100 * time.Millisecond
	for {
		got, err := l.g.GrantLease(ctx, l.jobID, l.kind, l.holder, l.ttl)
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return meta.Lease{}, fmt.Errorf("jobs: lease %s: %w (last: %v)", l.jobID, ctx.Err(), err)
		}
		if k := meta.KindOf(err); k == meta.KindInvalid || k == meta.KindPermission {
			return meta.Lease{}, fmt.Errorf("jobs: lease %s: %w", l.jobID, err)
		}
		l.log.Info("lease not granted yet; retrying", "job", l.jobID, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-l.clock.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// Token returns the current fencing token.
func (l *Lease) Token() uint64 { return l.cur.Load().Token }

// Lease returns the lease as last granted or renewed.
func (l *Lease) Lease() meta.Lease { return *l.cur.Load() }

func (l *Lease) interval() time.Duration {
	cur := l.cur.Load()
	ttl := time.Duration(cur.Expires - l.clock.Now().UnixNano())
	if l.ttl > 0 {
		ttl = l.ttl
	}
	return max(ttl/3, 50*time.Millisecond)
}

func (l *Lease) renew(ctx context.Context) {
	defer close(l.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.clock.After(l.interval()):
		}
		next, err := l.g.RenewLease(ctx, *l.cur.Load(), l.ttl)
		if errors.Is(err, meta.ErrLeaseNotFound) || errors.Is(err, meta.ErrStaleToken) {
			// It expired (meta was unreachable for a while): ask again; a new grant
			// carries a larger token.
			l.log.Warn("lease lost; granting it again", "job", l.jobID, "err", err)
			next, err = l.grant(ctx)
		}
		if err != nil {
			if ctx.Err() == nil {
				l.log.Warn("lease renewal failed", "job", l.jobID, "err", err)
			}
			continue
		}
		l.cur.Store(&next)
	}
}

// Release stops renewing and gives the lease back (best effort: an unreleased lease expires).
func (l *Lease) Release(ctx context.Context) {
	l.once.Do(func() {
		l.cancel()
		<-l.done
		if err := l.g.ReleaseLease(ctx, l.jobID, l.holder); err != nil && !errors.Is(err, meta.ErrLeaseNotFound) {
			l.log.Warn("lease release failed; it will expire", "job", l.jobID, "err", err)
		}
	})
}

// Fence remembers the highest fencing token seen per lease and turns away writes that carry an
// older one: they come from a holder whose lease was granted again to someone else.
type Fence struct {
	mu  sync.Mutex
	max map[string]uint64
}

// NewFence returns an empty fence.
func NewFence() *Fence { return &Fence{max: map[string]uint64{}} }

// Admit accepts token for lease (and remembers it if it is the highest), or returns an error
// matching meta.ErrStaleToken.
func (f *Fence) Admit(lease string, token uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := f.max[lease]; token < cur {
		return fmt.Errorf("jobs: lease %s: token %d < %d: %w", lease, token, cur, meta.ErrStaleToken)
	}
	f.max[lease] = token
	return nil
}
