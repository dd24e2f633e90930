package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		total   int64
		files   int
		samples []sample
		now     time.Time
		bytes   int64
		done    int
		width   int
		want    string
	}{
		{
			name: "known size, recent rate", total: 100 << 20, files: 0,
			samples: []sample{{t0, 0}, {t0.Add(time.Second), 10 << 20}, {t0.Add(2 * time.Second), 20 << 20}},
			now:     t0.Add(2 * time.Second), bytes: 20 << 20, width: 80,
			want: "get x  20.0MiB / 100MiB  [=====                      ]   20%  10.0MiB/s  ETA 8s",
		},
		{
			name: "files", total: 1000, files: 500, now: t0.Add(time.Second), bytes: 500, done: 250, width: 80,
			want: "put  250/500 files     500B / 1000B  [=======        ]   50%     500B/s  ETA 1s",
		},
		{
			name: "unknown size", total: -1, now: t0.Add(4 * time.Second), bytes: 4 << 20, width: 80,
			want: "get x  4.0MiB   1.0MiB/s  4s",
		},
		{
			name: "narrow terminal drops the bar and cuts", total: 100, now: t0.Add(time.Second), bytes: 0, width: 30,
			want: "get x       0B / 100B    0%",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label := "get x"
			if tt.files > 0 {
				label = "put"
			}
			p := &progress{label: label, total: tt.total, files: tt.files, start: t0, samples: tt.samples}
			got := p.line(tt.now, tt.bytes, tt.done, tt.width)
			if got != tt.want {
				t.Errorf("line:\n got %q\nwant %q", got, tt.want)
			}
			if tt.total >= 0 && tt.width == 80 && len(got) != tt.width-1 {
				t.Errorf("line is %d wide, want %d", len(got), tt.width-1)
			}
			if len(got) >= tt.width {
				t.Errorf("line is %d wide on a %d-column terminal", len(got), tt.width)
			}
		})
	}
}

func TestProgressDrawsAndClears(t *testing.T) {
	var buf syncBuffer
	p := newProgress(&buf, "put", 10, 1, func() int { return 80 }, time.Millisecond)
	p.add(5)
	p.fileDone()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "1/1 files") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.finish()
	p.finish() // twice is fine
	out := buf.String()
	if !strings.Contains(out, "\rput  1/1 files       5B / 10B  [") {
		t.Errorf("no progress line drawn: %.200q", out)
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("line not cleared at the end: %q", out)
	}
	var none *progress
	none.add(1)
	none.fileDone()
	none.finish()
}

// syncBuffer is a bytes.Buffer safe for the drawing goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
