package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/aisfoundry/ais/meta"
)

// Causes with which a job's context is cancelled; a job's function may read them with
// context.Cause to tell a user's abort from a shutdown (after which it should resume).
var (
	// ErrShutdown: the node is stopping. A job interrupted by it is not finished and should
	// resume when the node starts again.
	ErrShutdown = errors.New("jobs: node shutting down")
	// ErrSuperseded: a newer job of the same kind took the work over.
	ErrSuperseded = errors.New("jobs: superseded by a newer job")
)

// Func is the work of a job. It returns nil when all work is done, or the error that stopped
// it; it must return soon after ctx is cancelled.
type Func func(ctx context.Context, j *Job) error

// Job is one running or finished job on this node. Its counters are safe for concurrent use by
// the job's workers.
type Job struct {
	id, kind, node string
	ctx            context.Context
	cancel         context.CancelCauseFunc
	done           chan struct{}

	localObjs, localBytes atomic.Int64
	sentObjs, sentBytes   atomic.Int64
	recvObjs, recvBytes   atomic.Int64
	errs                  atomic.Int64
	checked, damaged      atomic.Int64
	restored, unrecov     atomic.Int64

	mu struct {
		sync.Mutex
		state      meta.JobState
		epoch      uint64
		start, end int64
		err        string
		detail     string
	}
}

// ID returns the job's ID.
func (j *Job) ID() string { return j.id }

// Kind returns the job's kind.
func (j *Job) Kind() string { return j.kind }

// Done is closed when the job has ended.
func (j *Job) Done() <-chan struct{} { return j.done }

// AddLocal counts objects the job visited on this node.
func (j *Job) AddLocal(objs, bytes int64) { j.localObjs.Add(objs); j.localBytes.Add(bytes) }

// AddSent counts objects the job moved away.
func (j *Job) AddSent(objs, bytes int64) { j.sentObjs.Add(objs); j.sentBytes.Add(bytes) }

// AddReceived counts objects the job took in.
func (j *Job) AddReceived(objs, bytes int64) { j.recvObjs.Add(objs); j.recvBytes.Add(bytes) }

// AddError counts an object whose move failed.
func (j *Job) AddError() { j.errs.Add(1) }

// AddScrub counts objects a scrub (or a restore) checked, found damaged, restored and could
// not restore.
func (j *Job) AddScrub(checked, damaged, restored, unrecoverable int64) {
	j.checked.Add(checked)
	j.damaged.Add(damaged)
	j.restored.Add(restored)
	j.unrecov.Add(unrecoverable)
}

// Seed adds counters carried over from an earlier run (a job resumed after a restart).
func (j *Job) Seed(c meta.JobCounters) {
	j.AddLocal(c.LocalObjects, c.LocalBytes)
	j.AddSent(c.SentObjects, c.SentBytes)
	j.AddReceived(c.ReceivedObjects, c.ReceivedBytes)
	j.errs.Add(c.Errors)
}

// SetEpoch records the epoch whose placement the job works towards.
func (j *Job) SetEpoch(e uint64) {
	j.mu.Lock()
	j.mu.epoch = e
	j.mu.Unlock()
}

// SetDetail records a short note on what the job is doing.
func (j *Job) SetDetail(s string) {
	j.mu.Lock()
	j.mu.detail = s
	j.mu.Unlock()
}

// Counters returns the job's counters now.
func (j *Job) Counters() meta.JobCounters {
	return meta.JobCounters{
		LocalObjects: j.localObjs.Load(), LocalBytes: j.localBytes.Load(),
		SentObjects: j.sentObjs.Load(), SentBytes: j.sentBytes.Load(),
		ReceivedObjects: j.recvObjs.Load(), ReceivedBytes: j.recvBytes.Load(),
		Errors:  j.errs.Load(),
		Checked: j.checked.Load(), Damaged: j.damaged.Load(), Restored: j.restored.Load(),
		Unrecoverable: j.unrecov.Load(),
	}
}

// Status returns the job's status now.
func (j *Job) Status() meta.JobStatus {
	j.mu.Lock()
	st := meta.JobStatus{ID: j.id, Kind: j.kind, Node: j.node, State: j.mu.state, Epoch: j.mu.epoch,
		Start: j.mu.start, End: j.mu.end, Error: j.mu.err, Detail: j.mu.detail}
	j.mu.Unlock()
	st.Counters = j.Counters()
	return st
}

// Abort cancels the job with cause (meta.ErrAborted for a user's abort) and returns at once;
// wait on Done for the end.
func (j *Job) Abort(cause error) { j.cancel(cause) }

// finish records how the job ended.
func (j *Job) finish(err error, now int64) {
	state := meta.JobFinished
	cause := context.Cause(j.ctx)
	switch {
	case err == nil:
	case errors.Is(cause, ErrSuperseded):
		state, err = meta.JobSuperseded, nil
	case errors.Is(cause, meta.ErrAborted), errors.Is(cause, ErrShutdown):
		state, err = meta.JobAborted, cause
	default:
		state = meta.JobFailed
	}
	j.mu.Lock()
	j.mu.state, j.mu.end = state, now
	if err != nil {
		j.mu.err = err.Error()
	}
	j.mu.Unlock()
	j.cancel(nil)
	close(j.done)
}
