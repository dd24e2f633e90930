package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Recorder appends events to a history file and keeps them in memory. Time is measured from
// the recorder's creation on the monotonic clock, so every event of a run shares one clock.
// It is safe for concurrent use.
type Recorder struct {
	start time.Time

	mu     sync.Mutex // guards the following
	f      *os.File
	w      *bufio.Writer
	enc    *json.Encoder
	events []Event
	err    error
}

// Create starts a history in a new file at path.
func Create(path string) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	return &Recorder{start: time.Now(), f: f, w: w, enc: json.NewEncoder(w)}, nil
}

// Now is the current time of the history.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// Start is the wall-clock time the history's time 0 stands for.
func (r *Recorder) Start() time.Time { return r.start }

// Add stamps e with the next index (and the current time, if e.Time is 0), appends it and
// returns it.
func (r *Recorder) Add(e Event) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Time == 0 {
		e.Time = r.Now()
	}
	e.Index = int64(len(r.events))
	r.events = append(r.events, e)
	if r.err == nil {
		r.err = r.enc.Encode(e)
	}
	return e
}

// Events returns a copy of the events so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Flush writes buffered events to the file.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Flush()
	}
	return r.err
}

// Close flushes and closes the file. The events stay readable with Events.
func (r *Recorder) Close() error {
	err := r.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return err
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.f = nil
	return err
}
