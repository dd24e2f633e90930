package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws one status line on a terminal (bytes done and total, a bar, bytes/s and
// ETA) and redraws it a few times a second from its own goroutine, which finish stops and
// joins. A nil *progress does nothing, which is what commands get when stderr is not a
// terminal.
type progress struct {
	w      io.Writer
	label  string
	total  int64 // bytes; < 0 when unknown (stdin)
	files  int   // number of files, or 0 for a single transfer
	width  func() int
	now    func() time.Time
	period time.Duration

	bytes     atomic.Int64
	filesDone atomic.Int64

	start   time.Time
	samples []sample // touched only by the drawing goroutine (and by finish after it stopped)

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

type sample struct {
	at    time.Time
	bytes int64
}

// rateWindow is how far back the transfer rate looks.
const rateWindow = 3 * time.Second

// drawPeriod is how often the progress line is redrawn.
const drawPeriod = 150 * time.Millisecond

// newProgress starts drawing on w every period. width reports the terminal's width.
func newProgress(w io.Writer, label string, total int64, files int, width func() int, period time.Duration) *progress {
	p := &progress{w: w, label: label, total: total, files: files, width: width,
		now: time.Now, period: period, stop: make(chan struct{})}
	p.start = p.now()
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.period)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	now := p.now()
	b := p.bytes.Load()
	p.samples = append(p.samples, sample{now, b})
	for len(p.samples) > 2 && now.Sub(p.samples[0].at) > rateWindow {
		p.samples = p.samples[1:]
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", p.line(now, b, int(p.filesDone.Load()), p.width()))
}

// add counts n more bytes done (negative when a request is sent again from the start).
func (p *progress) add(n int64) {
	if p != nil {
		p.bytes.Add(n)
	}
}

// fileDone counts one more file finished.
func (p *progress) fileDone() {
	if p != nil {
		p.filesDone.Add(1)
	}
}

// finish stops drawing and clears the line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		fmt.Fprint(p.w, "\r\x1b[K")
	})
}

// rate is bytes per second over the recent window, or over the whole transfer at its start.
func (p *progress) rate(now time.Time, bytes int64) float64 {
	if len(p.samples) >= 2 {
		first := p.samples[0]
		if dt := now.Sub(first.at).Seconds(); dt >= 0.5 {
			return float64(bytes-first.bytes) / dt
		}
	}
	if dt := now.Sub(p.start).Seconds(); dt > 0 {
		return float64(bytes) / dt
	}
	return 0
}

// line renders the status line for a terminal of the given width.
func (p *progress) line(now time.Time, bytes int64, filesDone, width int) string {
	rate := p.rate(now, bytes)
	var left []string
	left = append(left, p.label)
	if p.files > 0 {
		n := len(strconv.Itoa(p.files))
		left = append(left, fmt.Sprintf("%*d/%d files", n, filesDone, p.files))
	}
	var right []string
	if p.total >= 0 {
		left = append(left, fmt.Sprintf("%7s / %s", humanSize(bytes), humanSize(p.total)))
		pct := 100.0
		if p.total > 0 {
			pct = min(100, 100*float64(bytes)/float64(p.total))
		}
		right = append(right, fmt.Sprintf("%3.0f%%", pct))
	} else {
		left = append(left, humanSize(bytes))
	}
	right = append(right, fmt.Sprintf("%9s", humanRate(rate)))
	if p.total >= 0 {
		eta := "ETA -"
		if rate > 0 {
			eta = "ETA " + humanDuration(time.Duration(float64(p.total-bytes)/rate*float64(time.Second)))
		}
		right = append(right, eta)
	} else {
		right = append(right, humanDuration(now.Sub(p.start)))
	}
	l, r := strings.Join(left, "  "), strings.Join(right, "  ")
	if width <= 0 {
		width = 80
	}
	width--                            // never write into the last column: some terminals wrap there
	bar := width - len(l) - len(r) - 6 // "  [" and "]  "
	if p.total < 0 || bar < 10 {
		s := l + "  " + r
		if len(s) > width {
			s = strings.TrimRight(s[:max(0, width)], " ")
		}
		return s
	}
	fill := bar
	if p.total > 0 {
		fill = int(float64(bar) * min(1, float64(bytes)/float64(p.total)))
	}
	return l + "  [" + strings.Repeat("=", fill) + strings.Repeat(" ", bar-fill) + "]  " + r
}
