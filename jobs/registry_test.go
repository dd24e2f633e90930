package jobs

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

func TestJobEndStates(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		fn     Func
		abort  error // cause to abort with once the job runs; nil: none
		want   meta.JobState
		errHas string
	}{
		{"finished", func(ctx context.Context, j *Job) error { j.AddSent(2, 20); return nil }, nil, meta.JobFinished, ""},
		{"failed", func(ctx context.Context, j *Job) error { return boom }, nil, meta.JobFailed, "boom"},
		{"aborted", waitCtx, fmt.Errorf("%w by request", meta.ErrAborted), meta.JobAborted, "aborted"},
		{"shutdown", waitCtx, ErrShutdown, meta.JobAborted, "shutting down"},
		{"superseded", waitCtx, ErrSuperseded, meta.JobSuperseded, ""},
		{"panic", func(ctx context.Context, j *Job) error { panic("oops") }, nil, meta.JobFailed, "panicked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry("t1", nil, nil)
			defer r.Close()
			j, err := r.Start("test", "job-1", 7, tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			if tc.abort != nil {
				j.Abort(tc.abort)
			}
			st, err := r.Wait(context.Background(), "job-1")
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tc.want {
				t.Fatalf("state %s, want %s (err %q)", st.State, tc.want, st.Error)
			}
			if tc.errHas == "" && st.Error != "" || tc.errHas != "" && !contains(st.Error, tc.errHas) {
				t.Fatalf("error %q, want it to mention %q", st.Error, tc.errHas)
			}
			if st.Epoch != 7 || st.Node != "t1" || st.Kind != "test" || st.End == 0 {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func waitCtx(ctx context.Context, j *Job) error {
	<-ctx.Done()
	return ctx.Err()
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestRegistryRules(t *testing.T) {
	r := NewRegistry("t1", nil, nil)
	release := make(chan struct{})
	if _, err := r.Start("k", "a", 1, func(ctx context.Context, j *Job) error { <-release; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start("k", "a", 1, waitCtx); !errors.Is(err, meta.ErrJobRunning) {
		t.Fatalf("second start of a running ID: %v, want ErrJobRunning", err)
	}
	if _, err := r.Get("nope"); !errors.Is(err, meta.ErrJobNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if _, err := r.StartKind("nokind", "x", nil); !errors.Is(err, meta.ErrJobKind) {
		t.Fatalf("start unknown kind: %v", err)
	}
	if n := len(r.Running("k")); n != 1 {
		t.Fatalf("%d running", n)
	}
	close(release)
	if st, _ := r.Wait(context.Background(), "a"); st.State != meta.JobFinished {
		t.Fatalf("state %s", st.State)
	}
	// An ended ID may be started again.
	if _, err := r.Start("k", "a", 2, func(ctx context.Context, j *Job) error { return nil }); err != nil {
		t.Fatal(err)
	}
	r.Wait(context.Background(), "a")
	// Abort of a running job waits for its end.
	if _, err := r.Start("k", "b", 1, waitCtx); err != nil {
		t.Fatal(err)
	}
	st, err := r.Abort(context.Background(), "b")
	if err != nil || st.State != meta.JobAborted {
		t.Fatalf("abort: %+v %v", st, err)
	}
	// Close stops running jobs and refuses new ones.
	if _, err := r.Start("k", "c", 1, waitCtx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if st, _ := r.Wait(context.Background(), "c"); st.State != meta.JobAborted {
		t.Fatalf("after close: %s", st.State)
	}
	if _, err := r.Start("k", "d", 1, waitCtx); !errors.Is(err, ErrShutdown) {
		t.Fatalf("start after close: %v", err)
	}
	if got := len(r.List("k")); got != 3 {
		t.Fatalf("list: %d jobs, want 3", got)
	}
}

func TestRegistryKeepsNewestEnded(t *testing.T) {
	r := NewRegistry("t1", nil, nil)
	r.keep = 3
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("j%d", i)
		if _, err := r.Start("k", id, 0, func(ctx context.Context, j *Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		r.Wait(context.Background(), id)
	}
	var ids []string
	for _, st := range r.List("") {
		ids = append(ids, st.ID)
	}
	if fmt.Sprint(ids) != "[j7 j8 j9]" {
		t.Fatalf("kept %v", ids)
	}
}

func TestCountersAndSeed(t *testing.T) {
	r := NewRegistry("t1", func() time.Time { return time.Unix(100, 0) }, nil)
	j, _ := r.Start("k", "a", 0, func(ctx context.Context, j *Job) error {
		j.Seed(meta.JobCounters{SentObjects: 5, SentBytes: 500})
		j.AddSent(1, 10)
		j.AddReceived(2, 20)
		j.AddLocal(3, 30)
		j.AddError()
		return nil
	})
	<-j.Done()
	want := meta.JobCounters{LocalObjects: 3, LocalBytes: 30, SentObjects: 6, SentBytes: 510, ReceivedObjects: 2, ReceivedBytes: 20, Errors: 1}
	if got := j.Status().Counters; got != want {
		t.Fatalf("counters %+v, want %+v", got, want)
	}
	if st := j.Status(); st.Start != time.Unix(100, 0).UnixNano() {
		t.Fatalf("start %d", st.Start)
	}
}
