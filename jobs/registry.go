package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// DefaultKeep is how many ended jobs a registry remembers.
const DefaultKeep = 200

// Starter starts a job of one kind on request (POST /v1/jobs). id is chosen by the caller so
// that every node names the job alike; args are the kind's own parameters.
type Starter func(id string, args map[string]string) (*Job, error)

// Registry owns a node's jobs: it starts each in its own goroutine, remembers the ended ones
// (the newest Keep of them), and stops and joins all of them on Close.
type Registry struct {
	node string
	now  func() time.Time
	log  *slog.Logger
	keep int

	wg sync.WaitGroup
	mu struct {
		sync.Mutex
		jobs   map[string]*Job
		ended  []string // IDs of ended jobs, oldest first
		kinds  map[string]Starter
		closed bool
	}
}

// NewRegistry returns the registry of node. now and log may be nil.
func NewRegistry(node string, now func() time.Time, log *slog.Logger) *Registry {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{node: node, now: now, log: log, keep: DefaultKeep}
	r.mu.jobs = map[string]*Job{}
	r.mu.kinds = map[string]Starter{}
	return r
}

// RegisterKind makes a kind startable by request.
func (r *Registry) RegisterKind(kind string, start Starter) {
	r.mu.Lock()
	r.mu.kinds[kind] = start
	r.mu.Unlock()
}

// Kinds returns the kinds startable by request, sorted.
func (r *Registry) Kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.mu.kinds))
	for k := range r.mu.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// StartKind starts a job of a kind registered with RegisterKind.
func (r *Registry) StartKind(kind, id string, args map[string]string) (*Job, error) {
	r.mu.Lock()
	start, ok := r.mu.kinds[kind]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("jobs: start %q: %w (startable: %v)", kind, meta.ErrJobKind, r.Kinds())
	}
	return start(id, args)
}

// Start runs fn as job id of kind in a new goroutine. An ID that names a running job is
// meta.ErrJobRunning; one that names an ended job replaces it.
func (r *Registry) Start(kind, id string, epoch uint64, fn Func) (*Job, error) {
	if id == "" || kind == "" {
		return nil, fmt.Errorf("jobs: %w: a job needs a kind and an ID", meta.ErrInvalidRequest)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	j := &Job{id: id, kind: kind, node: r.node, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	j.mu.state, j.mu.epoch, j.mu.start = meta.JobRunning, epoch, r.now().UnixNano()
	r.mu.Lock()
	if r.mu.closed {
		r.mu.Unlock()
		cancel(ErrShutdown)
		return nil, fmt.Errorf("jobs: start %s: %w", id, ErrShutdown)
	}
	if old, ok := r.mu.jobs[id]; ok {
		if !old.Status().State.Done() {
			r.mu.Unlock()
			cancel(nil)
			return nil, fmt.Errorf("jobs: start %s: %w", id, meta.ErrJobRunning)
		}
		r.mu.ended = slices.DeleteFunc(r.mu.ended, func(s string) bool { return s == id })
	}
	r.mu.jobs[id] = j
	r.wg.Add(1)
	r.mu.Unlock()
	r.log.Info("job started", "job", id, "kind", kind, "epoch", epoch)
	go r.run(j, fn)
	return j, nil
}

func (r *Registry) run(j *Job, fn Func) {
	defer r.wg.Done()
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("job panicked", "job", j.id, "panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("jobs: %s panicked: %v", j.id, p)
			}
		}()
		err = fn(j.ctx, j)
	}()
	j.finish(err, r.now().UnixNano())
	st := j.Status()
	r.log.Info("job ended", "job", j.id, "kind", j.kind, "state", st.State, "err", st.Error,
		"sent_objects", st.Counters.SentObjects, "sent_bytes", st.Counters.SentBytes,
		"received_objects", st.Counters.ReceivedObjects, "errors", st.Counters.Errors)
	r.mu.Lock()
	if r.mu.jobs[j.id] == j {
		r.mu.ended = append(r.mu.ended, j.id)
		for len(r.mu.ended) > r.keep {
			delete(r.mu.jobs, r.mu.ended[0])
			r.mu.ended = r.mu.ended[1:]
		}
	}
	r.mu.Unlock()
}

// Get returns a job by ID.
func (r *Registry) Get(id string) (*Job, error) {
	r.mu.Lock()
	j, ok := r.mu.jobs[id]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("jobs: %s on %s: %w", id, r.node, meta.ErrJobNotFound)
	}
	return j, nil
}

// List returns the statuses of the jobs of kind ("" for all), oldest first.
func (r *Registry) List(kind string) []meta.JobStatus {
	r.mu.Lock()
	js := make([]*Job, 0, len(r.mu.jobs))
	for _, j := range r.mu.jobs {
		if kind == "" || j.kind == kind {
			js = append(js, j)
		}
	}
	r.mu.Unlock()
	out := make([]meta.JobStatus, len(js))
	for i, j := range js {
		out[i] = j.Status()
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Start != out[b].Start {
			return out[a].Start < out[b].Start
		}
		return out[a].ID < out[b].ID
	})
	return out
}

// Running returns the running jobs of kind ("" for all).
func (r *Registry) Running(kind string) []*Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Job
	for _, j := range r.mu.jobs {
		if (kind == "" || j.kind == kind) && !j.Status().State.Done() {
			out = append(out, j)
		}
	}
	return out
}

// Abort aborts a running job (a user's request) and waits until it has ended or ctx ends.
// Aborting an ended job changes nothing.
func (r *Registry) Abort(ctx context.Context, id string) (meta.JobStatus, error) {
	j, err := r.Get(id)
	if err != nil {
		return meta.JobStatus{}, err
	}
	j.Abort(fmt.Errorf("%w by request", meta.ErrAborted))
	select {
	case <-j.done:
	case <-ctx.Done():
	}
	return j.Status(), nil
}

// Wait waits until job id has ended (or ctx ends) and returns its status.
func (r *Registry) Wait(ctx context.Context, id string) (meta.JobStatus, error) {
	j, err := r.Get(id)
	if err != nil {
		return meta.JobStatus{}, err
	}
	select {
	case <-j.done:
		return j.Status(), nil
	case <-ctx.Done():
		return j.Status(), ctx.Err()
	}
}

// Close cancels every running job with ErrShutdown and waits for all of them to end. No job
// starts afterwards.
func (r *Registry) Close() {
	r.mu.Lock()
	r.mu.closed = true
	for _, j := range r.mu.jobs {
		j.cancel(ErrShutdown)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// IsAbort reports whether err (or a context's cause) is a user's abort or a shutdown.
func IsAbort(err error) bool {
	return errors.Is(err, meta.ErrAborted) || errors.Is(err, ErrShutdown) || errors.Is(err, ErrSuperseded)
}
