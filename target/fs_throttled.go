package target

import (
	"strings"
	"sync"
	"time"
)

// NewThrottledFS returns fsys with every mountpath's bandwidth capped at bytesPerSec: reads and
// writes of the files under one mountpath share one budget. It is a test mode
// (Config.MountpathBandwidth): it stands in for disks of a known speed, so that a cluster on one
// machine shows how throughput scales with targets (docs/performance.md). Files it opens do not
// offer their *os.File, so GETs copy through the limiter instead of using sendfile. Paths
// outside the given mountpaths are not throttled.
func NewThrottledFS(fsys FS, mountpaths []string, bytesPerSec int64, clock Clock) FS {
	t := &throttledFS{FS: fsys}
	for _, mp := range mountpaths {
		t.mps = append(t.mps, throttledMountpath{prefix: mp + "/",
			lim: &rateLimiter{bytesPerSec: float64(bytesPerSec), clock: clock}})
	}
	return t
}

type throttledFS struct {
	FS
	mps []throttledMountpath
}

type throttledMountpath struct {
	prefix string
	lim    *rateLimiter
}

func (t *throttledFS) limiter(path string) *rateLimiter {
	for _, mp := range t.mps {
		if strings.HasPrefix(path, mp.prefix) {
			return mp.lim
		}
	}
	return nil
}

func (t *throttledFS) Create(name string) (File, error) { return t.wrap(name, t.FS.Create) }
func (t *throttledFS) Open(name string) (File, error)   { return t.wrap(name, t.FS.Open) }

func (t *throttledFS) wrap(name string, open func(string) (File, error)) (File, error) {
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	if lim := t.limiter(name); lim != nil {
		return &throttledFile{File: f, lim: lim}, nil
	}
	return f, nil
}

// throttledFile charges every byte it reads or writes to its mountpath's limiter.
type throttledFile struct {
	File
	lim *rateLimiter
}

func (f *throttledFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.lim.take(n)
	return n, err
}

func (f *throttledFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.lim.take(n)
	return n, err
}

func (f *throttledFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.lim.take(n)
	return n, err
}

// rateLimiter paces bytes at bytesPerSec on a virtual timeline: each caller books the time its
// bytes take after everything booked before, and waits until then. Idle time is saved up to
// limiterBurst, as a disk's queue would absorb a short pause of its clients (on a busy machine,
// a scheduling delay is not lost bandwidth).
type rateLimiter struct {
	bytesPerSec float64
	clock       Clock
	mu          sync.Mutex
	next        time.Time // guarded by mu: when the bytes booked so far are through
}

// limiterBurst is how much idle time a rateLimiter saves up.
const limiterBurst = 50 * time.Millisecond

func (l *rateLimiter) take(n int) {
	if n <= 0 {
		return
	}
	now := l.clock.Now()
	l.mu.Lock()
	if early := now.Add(-limiterBurst); l.next.Before(early) {
		l.next = early
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.bytesPerSec * float64(time.Second)))
	until := l.next
	l.mu.Unlock()
	if d := until.Sub(now); d > 0 {
		<-l.clock.After(d)
	}
}
