package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is one run of the load generator.
type loadSpec struct {
	Op       string // opPut, opGet or opMixed
	PutPct   int    // mixed: share of PUTs in percent
	Workers  int
	Duration time.Duration // 0: until Count
	Count    int64         // 0: until Duration
	// NumObjects is how many distinct names PUT cycles over and GET reads (prefix + index);
	// 0 for PUT means a new name for every PUT. Objects, if set, are the names (and sizes)
	// to read instead.
	NumObjects int
	Objects    []object
	Prefix     string
	StartIndex int64 // PUT of new names: the first name's index
	MinSize    int64
	MaxSize    int64
	Range      int64 // GET: random ranges of this length (0: whole objects)
	Verify     bool  // GET: compare every byte with what PUT wrote
	Interval   time.Duration
	BufSize    int
}

const (
	opPut   = "put"
	opGet   = "get"
	opMixed = "mixed"
)

func (s *loadSpec) validate() error {
	switch {
	case s.Op != opPut && s.Op != opGet && s.Op != opMixed:
		return fmt.Errorf("unknown operation %q", s.Op)
	case s.Workers < 1:
		return errors.New("--workers must be at least 1")
	case s.Duration <= 0 && s.Count <= 0:
		return errors.New("give --duration or --count")
	case s.MinSize < 0 || s.MaxSize < s.MinSize:
		return errors.New("sizes: want 0 <= --min-size <= --max-size")
	case s.Op == opMixed && (s.PutPct < 0 || s.PutPct > 100):
		return errors.New("--put-pct must be 0 to 100")
	case s.Op != opPut && s.NumObjects <= 0 && len(s.Objects) == 0:
		return errors.New("reading needs objects: --objects N (names PREFIX00000000 up, as put wrote them)")
	case s.Range < 0:
		return errors.New("--range must not be negative")
	}
	return nil
}

// Summary is the outcome of one run: per operation kind, over the whole run.
type Summary struct {
	Backend   string   `json:"backend"`
	Op        string   `json:"op"`
	Workers   int      `json:"workers"`
	MinSize   int64    `json:"min_size"`
	MaxSize   int64    `json:"max_size"`
	Seconds   float64  `json:"seconds"`
	Results   []Result `json:"results"`
	NamesUsed int64    `json:"names_used"` // PUT: names PREFIX00000000 up to this index (excluded) exist
}

// result returns the summary's result of one op kind (zero if there is none).
func (s *Summary) result(op string) Result {
	for _, r := range s.Results {
		if r.Op == op {
			return r
		}
	}
	return Result{Op: op}
}

// Interval is what one reporting interval saw.
type Interval struct {
	Elapsed float64  `json:"elapsed"`
	Results []Result `json:"results"`
}

// runLoad drives be with spec's workers until the duration or count is reached or ctx ends,
// calling onInterval every spec.Interval (if both are set), and returns the summary.
func runLoad(ctx context.Context, spec loadSpec, be backend, pat *pattern, onInterval func(Interval)) (*Summary, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if spec.BufSize <= 0 {
		spec.BufSize = 256 << 10
	}
	names := make([]string, spec.NumObjects)
	for i := range names {
		names[i] = nameOf(spec.Prefix, int64(i))
	}
	r := &runner{spec: spec, be: be, pat: pat, names: names}
	r.putSeq.Store(spec.StartIndex)
	ops := []string{spec.Op}
	if spec.Op == opMixed {
		ops = []string{opPut, opGet}
	}

	var stop atomic.Bool
	workers := make([]*worker, spec.Workers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{r: r, rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(start.UnixNano()))),
			buf: make([]byte, spec.BufSize)}
		workers[i] = w
		wg.Go(func() { w.run(ctx, &stop) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var deadline <-chan time.Time
	if spec.Duration > 0 {
		t := time.NewTimer(spec.Duration)
		defer t.Stop()
		deadline = t.C
	}
	var tick <-chan time.Time
	if spec.Interval > 0 && onInterval != nil {
		tk := time.NewTicker(spec.Interval)
		defer tk.Stop()
		tick = tk.C
	}
	ctxDone := ctx.Done()
	last := start
	report := func(now time.Time) {
		iv := Interval{Elapsed: now.Sub(start).Seconds()}
		for _, op := range ops {
			var c counters
			for _, w := range workers {
				w.stats(op).takeInterval(&c)
			}
			iv.Results = append(iv.Results, c.result(op, now.Sub(last)))
		}
		last = now
		onInterval(iv)
	}
loop:
	for {
		select {
		case <-done:
			break loop
		case <-deadline:
			stop.Store(true)
			deadline = nil
		case <-ctxDone:
			stop.Store(true)
			ctxDone = nil
		case now := <-tick:
			report(now)
		}
	}
	span := time.Since(start)
	sum := &Summary{Op: spec.Op, Workers: spec.Workers, MinSize: spec.MinSize, MaxSize: spec.MaxSize,
		Seconds: span.Seconds(), NamesUsed: r.putSeq.Load()}
	if spec.NumObjects > 0 {
		sum.NamesUsed = min(sum.NamesUsed, int64(spec.NumObjects))
	}
	for _, op := range ops {
		var c counters
		for _, w := range workers {
			w.stats(op).addTotal(&c)
		}
		sum.Results = append(sum.Results, c.result(op, span))
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return sum, err
	}
	return sum, nil
}

func nameOf(prefix string, i int64) string {
	var b [20]byte
	d := strconv.AppendInt(b[:0], i, 10)
	out := make([]byte, 0, len(prefix)+max(8, len(d)))
	out = append(out, prefix...)
	for k := len(d); k < 8; k++ {
		out = append(out, '0')
	}
	return string(append(out, d...))
}

type runner struct {
	spec   loadSpec
	be     backend
	pat    *pattern
	names  []string
	issued atomic.Int64 // operations started (for --count)
	putSeq atomic.Int64 // next name index to PUT
}

// worker runs operations one after another. Everything it needs per request (the body reader,
// the read buffer, the checker) is its own and reused.
type worker struct {
	r        *runner
	rng      *rand.Rand
	buf      []byte
	body     patReader
	chk      checker
	put, get opStats
}

func (w *worker) stats(op string) *opStats {
	if op == opPut {
		return &w.put
	}
	return &w.get
}

func (w *worker) run(ctx context.Context, stop *atomic.Bool) {
	r := w.r
	sink := w.chk.check
	for !stop.Load() && ctx.Err() == nil {
		if r.spec.Count > 0 && r.issued.Add(1) > r.spec.Count {
			return
		}
		isPut := r.spec.Op == opPut || (r.spec.Op == opMixed && w.rng.IntN(100) < r.spec.PutPct)
		if isPut {
			w.doPut(ctx)
			continue
		}
		name, size := w.pickRead()
		off, length := int64(0), int64(0)
		want := size
		if r.spec.Range > 0 && size > r.spec.Range {
			length = r.spec.Range
			off = w.rng.Int64N(size - length + 1)
			want = length
		}
		var s func([]byte) error
		if r.spec.Verify {
			w.chk.reset(r.pat, name, off)
			s = sink
		}
		t0 := time.Now()
		n, err := r.be.get(ctx, name, off, length, w.buf, s)
		d := time.Since(t0)
		if err == nil && n != want {
			err = fmt.Errorf("%s: %w: %d of %d", name, errShort, n, want)
		}
		w.account(ctx, &w.get, d, n, err)
	}
}

func (w *worker) doPut(ctx context.Context) {
	r := w.r
	var name string
	switch {
	case r.spec.NumObjects > 0 && r.spec.Op == opMixed:
		name = r.names[w.rng.IntN(len(r.names))]
	case r.spec.NumObjects > 0:
		name = r.names[(r.putSeq.Add(1)-1)%int64(len(r.names))]
	default:
		name = nameOf(r.spec.Prefix, r.putSeq.Add(1)-1)
	}
	size := sizeOf(name, r.spec.MinSize, r.spec.MaxSize)
	w.body.reset(r.pat, name, size)
	t0 := time.Now()
	err := r.be.put(ctx, name, &w.body)
	w.account(ctx, &w.put, time.Since(t0), size, err)
}

func (w *worker) pickRead() (string, int64) {
	r := w.r
	if len(r.spec.Objects) > 0 {
		o := r.spec.Objects[w.rng.IntN(len(r.spec.Objects))]
		return o.name, o.size
	}
	name := r.names[w.rng.IntN(len(r.names))]
	return name, sizeOf(name, r.spec.MinSize, r.spec.MaxSize)
}

func (w *worker) account(ctx context.Context, s *opStats, d time.Duration, n int64, err error) {
	switch {
	case err == nil:
		s.ok(d, n)
	case ctx.Err() != nil:
		// The run was interrupted; the request did not fail on its own.
	default:
		s.fail(errKind(err))
	}
}
