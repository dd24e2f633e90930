package target

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisfoundry/ais/meta"
)

// A failed disk is found in two ways (docs/operations.md, "A disk fails"):
//
//   - Every FS call of the store goes through faultWatchFS, which hands each error that
//     diskFault classifies (EIO, EROFS, ENODEV, ENXIO, EUCLEAN; never ENOSPC or ENOENT) to
//     suspect. One such error is enough to probe the mountpath: the probe is cheap, and it,
//     not the error, decides, so a transient error does not disable anything.
//   - Every MountpathProbeConfig.Interval, each mountpath in use is probed, to catch a dead
//     disk that nobody reads.
//
// The probe writes a small file under <mountpath>/.ais/sys/, fsyncs it, reads it back, compares
// and removes it, within MountpathProbeConfig.Timeout (a hung disk fails it). A mountpath that
// fails is disabled by the target itself (Store.faultMountpath: not drained, since nothing is
// read from a dead disk, and recorded so that it stays disabled across restarts), counted in
// ais_target_mountpath_failures_total, logged as an ERROR that says what to do, and a resilver
// starts: mirrored buckets get their copies back, EC buckets rebuild on read or by ec-repair,
// objects of plain buckets that were only there are not found until the disk is back.

// probeHoldoff is how long after a probe that an error started and that passed, further
// errors on the same mountpath do not start another one (a burst of errors from one transient
// event makes one probe). A periodic probe that passed holds nothing off: a disk may die right
// after it.
const probeHoldoff = 250 * time.Millisecond

// probeSize is the size of the probe's file.
const probeSize = 4 << 10

// mountpathHealth watches the target's mountpaths. run owns the probing; suspect may be called
// from any goroutine.
type mountpathHealth struct {
	s        *Server
	cfg      MountpathProbeConfig
	suspects chan string
	ioErrors *prometheus.CounterVec // ais_target_mountpath_io_errors_total{mountpath}
	failures *prometheus.CounterVec // ais_target_mountpath_failures_total{mountpath}

	mu struct {
		sync.Mutex
		queued map[string]bool      // a probe is queued or running
		passed map[string]time.Time // the last probe that passed
	}
}

func newMountpathHealth(s *Server, cfg MountpathProbeConfig) *mountpathHealth {
	h := &mountpathHealth{s: s, cfg: cfg, suspects: make(chan string, 16),
		ioErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ais_target_mountpath_io_errors_total",
			Help: "I/O errors that said the mountpath's disk may have failed (EIO, EROFS, ENODEV, ENXIO, EUCLEAN); each may start a health probe."},
			[]string{"mountpath"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ais_target_mountpath_failures_total",
			Help: "Health probes that failed, after which the target disabled the mountpath."},
			[]string{"mountpath"}),
	}
	h.mu.queued = map[string]bool{}
	h.mu.passed = map[string]time.Time{}
	return h
}

// suspect takes an I/O error that diskFault classified on path and queues a probe of its
// mountpath, unless one is queued or one passed within probeHoldoff.
func (h *mountpathHealth) suspect(path string, err error) {
	mp := h.s.store.mountpathOf(path)
	if mp == "" {
		return
	}
	h.ioErrors.WithLabelValues(mp).Inc()
	h.mu.Lock()
	if h.mu.queued[mp] || h.s.clock.Now().Sub(h.mu.passed[mp]) < probeHoldoff {
		h.mu.Unlock()
		return
	}
	h.mu.queued[mp] = true
	h.mu.Unlock()
	h.s.log.Warn("I/O error on a mountpath: probing its disk", "mountpath", mp, "path", path, "err", err)
	select {
	case h.suspects <- mp:
	default: // the queue is full of probes already: the next error or the periodic probe comes back
		h.mu.Lock()
		delete(h.mu.queued, mp)
		h.mu.Unlock()
	}
}

// run probes suspects as they come and every mountpath every cfg.Interval until ctx ends.
func (h *mountpathHealth) run(ctx context.Context) {
	var tick <-chan time.Time
	if h.cfg.Interval > 0 {
		tick = h.s.clock.After(h.cfg.Interval)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case mp := <-h.suspects:
			h.check(ctx, mp, true)
		case <-tick:
			for _, mp := range h.s.store.Mountpaths() {
				h.check(ctx, mp, false)
			}
			tick = h.s.clock.After(h.cfg.Interval)
		}
	}
}

// check probes mp if it is still in use and disables it if the probe fails. suspected says an
// I/O error asked for the probe.
func (h *mountpathHealth) check(ctx context.Context, mp string, suspected bool) {
	h.mu.Lock()
	h.mu.queued[mp] = true // errors the probe itself meets do not queue another
	h.mu.Unlock()
	err := h.probe(ctx, mp)
	h.mu.Lock()
	delete(h.mu.queued, mp)
	if err == nil && suspected {
		h.mu.passed[mp] = h.s.clock.Now()
	}
	h.mu.Unlock()
	if err == nil || ctx.Err() != nil {
		return
	}
	h.s.failMountpath(ctx, mp, err)
}

// probe runs Store.probeMountpath within cfg.Timeout. A probe blocked in a system call cannot
// be stopped: its goroutine ends when the call returns (a hung disk may never return it).
func (h *mountpathHealth) probe(ctx context.Context, mp string) error {
	if !h.s.store.inUse(mp) {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- h.s.store.probeMountpath(mp) }()
	select {
	case err := <-done:
		return err
	case <-h.s.clock.After(h.cfg.Timeout):
		return fmt.Errorf("target: probe %s: no answer in %s (hung disk)", mp, h.cfg.Timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// probeMountpath writes a small file under mp's .ais/sys, fsyncs it, reads it back and removes
// it. Only a disk fault (diskFault) or bytes that read back wrong fail it: a full disk
// (ENOSPC) passes, since it is handled as capacity, not as a failure.
func (s *Store) probeMountpath(mp string) error {
	want := make([]byte, probeSize)
	_, _ = rand.Read(want)
	path := fmt.Sprintf("%s/%s/health-probe.%s", mp, sysDir, randomHex(4))
	err := writeSynced(s.fs, path, want)
	if err == nil {
		err = s.readProbe(path, want)
	}
	if rerr := s.fs.Remove(path); err == nil && rerr != nil && !notFoundErr(rerr) {
		err = rerr
	}
	if err != nil && (diskFault(err) || errors.Is(err, errProbeMismatch)) {
		return fmt.Errorf("target: probe %s: %w", mp, err)
	}
	if err != nil {
		s.log.Warn("mountpath probe could not run; not a disk fault, the mountpath stays in use", "mountpath", mp, "err", err)
	}
	return nil
}

var errProbeMismatch = errors.New("bytes read back differ from those written")

func (s *Store) readProbe(path string, want []byte) error {
	f, err := s.fs.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := io.ReadAll(io.LimitReader(f, probeSize+1))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errProbeMismatch
	}
	return nil
}

// mountpathOf returns the mountpath in use or draining that holds path, or "".
func (s *Store) mountpathOf(path string) string {
	for _, mp := range s.walkMountpaths() {
		if path == mp || strings.HasPrefix(path, mp+"/") {
			return mp
		}
	}
	return ""
}

// inUse reports whether mp is in use or draining.
func (s *Store) inUse(mp string) bool { return s.mountpathOf(mp) == mp }

// failMountpath disables a mountpath whose probe failed and starts the resilver that makes up
// for it.
func (s *Server) failMountpath(ctx context.Context, mp string, cause error) {
	set, err := s.store.faultMountpath(mp, cause)
	if err != nil {
		s.log.Error("mountpath failed its health probe but stays in use", "mountpath", mp, "cause", cause, "err", err)
		return
	}
	s.mphealth.failures.WithLabelValues(mp).Inc()
	s.log.Error("mountpath failed its health probe and is disabled",
		"mountpath", mp, "cause", cause, "active", set.active, "disabled", set.disabled,
		"what_to_do", "objects of mirrored and EC buckets are served from their other copies and restored by the resilver; "+
			"objects of other buckets that were only on this disk are not found until it is back. Repair or replace the disk, "+
			"mount it at the same path, then: ais storage mountpath enable "+s.id+" "+mp)
	s.reregister(ctx)
	if _, err := s.startResilver(fmt.Sprintf("%s-%s-%d", meta.JobResilver, s.id, s.clock.Now().UnixMilli())); err != nil {
		s.log.Error("could not start the resilver after a mountpath failed", "mountpath", mp, "err", err)
	}
}
