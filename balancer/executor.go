package balancer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/jobs"
)

// Outcome is what the destination did with a copy.
type Outcome uint8

const (
	// Stored: the destination stored the copy.
	Stored Outcome = iota + 1
	// Kept: the destination already had this version or a newer one, and kept its own.
	Kept
	// Refused: the destination will never want this copy (the object was deleted there
	// since, or its bucket is gone).
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Kept:
		return "kept"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Node is what the executor needs from the node it runs on.
type Node interface {
	// Walk calls fn for every object copy on the node (in any order) until fn returns an
	// error, which Walk returns, or ctx ends.
	Walk(ctx context.Context, fn func(Item) error) error
	// Plan returns the moves for items under the node's current view.
	Plan(items []Item) []Move
	// Generation changes whenever the inputs of Plan change (a new placement, another set of
	// mountpaths); a pass that saw one generation throughout needs no second look.
	Generation() uint64
	// Send carries a copy to its destination and reports what the destination did with it.
	// It must not remove the local copy.
	Send(ctx context.Context, m Move) (Outcome, error)
	// Remove removes the local copy of a move that reached its destination, unless the copy
	// changed meanwhile (another version was written). A copy already gone is not an error.
	Remove(ctx context.Context, m Move) error
}

// Config tunes the executor.
type Config struct {
	// Workers is how many copies are in flight at once.
	Workers int
	// Batch is how many walked items are planned together.
	Batch int
	// Grace is how long a copy stays after its destination confirmed it, before it is removed:
	// longer than a listing page takes, so that a listing that asked the destination before the
	// copy arrived still finds it at the source.
	Grace time.Duration
	// RetryMin and RetryMax bound the pause before a pass that retries failed moves.
	RetryMin, RetryMax time.Duration
	Clock              jobs.Clock
	Log                *slog.Logger
}

// DefaultConfig returns the executor's defaults.
func DefaultConfig() Config {
	return Config{Workers: 8, Batch: 128, Grace: 3 * time.Second, RetryMin: 500 * time.Millisecond,
		RetryMax: 5 * time.Second, Clock: jobs.RealClock}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.Batch <= 0 {
		c.Batch = d.Batch
	}
	if c.Grace < 0 {
		c.Grace = 0
	}
	if c.RetryMin <= 0 {
		c.RetryMin = d.RetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(d.RetryMax, c.RetryMin)
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// PassResult sums one pass over the node's inventory.
type PassResult struct {
	Walked, Moved, Failed int64
}

// Run moves every copy of the node to where the node's current view wants it, pass after pass,
// until a pass finds nothing to move and nothing failed under one unchanged generation. A
// failed move is retried by the next pass (after a pause); a new generation (epoch) during a
// pass changes the plan of every later batch at once and asks for one more pass. It returns
// nil when done, or ctx's cause.
func Run(ctx context.Context, job *jobs.Job, n Node, cfg Config) error {
	cfg.fill()
	pause := cfg.RetryMin
	for pass := 1; ; pass++ {
		gen := n.Generation()
		job.SetDetail(fmt.Sprintf("pass %d", pass))
		res, err := runPass(ctx, job, n, cfg, pass == 1)
		if err != nil {
			return err
		}
		cfg.Log.Info("pass done", "job", job.ID(), "pass", pass, "walked", res.Walked, "moved", res.Moved, "failed", res.Failed)
		if res.Moved == 0 && res.Failed == 0 && n.Generation() == gen {
			job.SetDetail("")
			return nil
		}
		if res.Failed == 0 {
			pause = cfg.RetryMin
			continue
		}
		job.SetDetail(fmt.Sprintf("pass %d: %d moves failed; retrying", pass, res.Failed))
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-cfg.Clock.After(pause):
		}
		pause = min(2*pause, cfg.RetryMax)
	}
}

// runPass walks the inventory once, plans in batches, sends with Workers in flight, and removes
// confirmed copies after the grace period. It returns when every move of the pass has been
// answered and every confirmed copy removed (or ctx ends).
func runPass(ctx context.Context, job *jobs.Job, n Node, cfg Config, countLocal bool) (PassResult, error) {
	var (
		res   PassResult
		resMu sync.Mutex
	)
	moves := make(chan Move, cfg.Workers)
	rm := newRemover(n, cfg, job)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(moves)
		batch := make([]Item, 0, cfg.Batch)
		flush := func() error {
			for _, m := range n.Plan(batch) {
				select {
				case moves <- m:
				case <-gctx.Done():
					return context.Cause(gctx)
				}
			}
			batch = batch[:0]
			return nil
		}
		err := n.Walk(gctx, func(it Item) error {
			resMu.Lock()
			res.Walked++
			resMu.Unlock()
			if countLocal {
				job.AddLocal(1, it.Size)
			}
			batch = append(batch, it)
			if len(batch) == cap(batch) {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	})
	for w := 0; w < cfg.Workers; w++ {
		g.Go(func() error {
			for m := range moves {
				out, err := n.Send(gctx, m)
				if err != nil {
					if gctx.Err() != nil {
						return context.Cause(gctx)
					}
					job.AddError()
					cfg.Log.Debug("move failed; will retry", "object", m.Item.Key(), "to", m.To, "err", err)
					resMu.Lock()
					res.Failed++
					resMu.Unlock()
					continue
				}
				if out == Stored {
					job.AddSent(1, m.Item.Size)
				}
				resMu.Lock()
				res.Moved++
				resMu.Unlock()
				rm.add(m)
			}
			return nil
		})
	}
	err := g.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		rm.stop()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return res, err
	}
	if err := rm.drain(ctx); err != nil {
		return res, err
	}
	res.Failed += rm.failed()
	return res, nil
}

// remover removes confirmed copies once their grace period has passed, in confirmation order.
type remover struct {
	n    Node
	cfg  Config
	job  *jobs.Job
	in   chan pending
	done chan struct{}
	quit chan struct{}

	mu    sync.Mutex
	fails int64
}

type pending struct {
	m   Move
	due time.Time
}

func newRemover(n Node, cfg Config, job *jobs.Job) *remover {
	r := &remover{n: n, cfg: cfg, job: job, in: make(chan pending, 1<<16), done: make(chan struct{}), quit: make(chan struct{})}
	go r.loop()
	return r
}

func (r *remover) add(m Move) {
	p := pending{m: m, due: r.cfg.Clock.Now().Add(r.cfg.Grace)}
	select {
	case r.in <- p:
	case <-r.quit:
	}
}

func (r *remover) loop() {
	defer close(r.done)
	for p := range r.in {
		if wait := p.due.Sub(r.cfg.Clock.Now()); wait > 0 {
			select {
			case <-r.cfg.Clock.After(wait):
			case <-r.quit:
				return
			}
		}
		if err := r.n.Remove(context.Background(), p.m); err != nil {
			r.cfg.Log.Warn("removing a moved copy failed", "object", p.m.Item.Key(), "err", err)
			r.job.AddError()
			r.mu.Lock()
			r.fails++
			r.mu.Unlock()
		}
	}
}

// drain waits until every pending copy is removed.
func (r *remover) drain(ctx context.Context) error {
	close(r.in)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		close(r.quit)
		<-r.done
		return context.Cause(ctx)
	}
}

// stop abandons pending removals (the copies stay; a later pass or job finds them again).
func (r *remover) stop() {
	close(r.quit)
	close(r.in)
	<-r.done
}

func (r *remover) failed() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fails
}
