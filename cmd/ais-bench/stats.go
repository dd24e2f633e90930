package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/aisfoundry/ais/api"
)

// histogram counts latencies in log-linear buckets: exact below 64 ns, then 32 buckets per
// power of two (about 3% wide). Recording is an index computation and an increment.
type histogram struct {
	counts [64 + 58*32]uint64
	n      uint64
	min    int64
	max    int64
}

func bucketOf(v int64) int {
	if v < 64 {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 6 // v >> e is in [32, 64)
	return 64 + (e-1)*32 + int(uint64(v)>>e) - 32
}

// lowOf is the smallest value of bucket i.
func lowOf(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	e := (i-64)/32 + 1
	m := int64((i-64)%32 + 32)
	return m << e
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.counts[min(bucketOf(v), len(h.counts)-1)]++
}

func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// quantile returns the latency below which a fraction q of the samples fall (the middle of
// its bucket, clamped to the observed min and max).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if rank >= h.n {
		rank = h.n - 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			mid := (lowOf(i) + lowOf(i+1)) / 2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// opStats are one worker's counters for one kind of operation, over the current interval and
// over the whole run. The worker records; the reporter takes the interval part every tick.
type opStats struct {
	mu       sync.Mutex
	interval counters
	total    counters
}

type counters struct {
	ops, bytes int64
	lat        histogram
	errs       map[string]int64
}

func (c *counters) add(o *counters) {
	c.ops += o.ops
	c.bytes += o.bytes
	c.lat.merge(&o.lat)
	for k, v := range o.errs {
		if c.errs == nil {
			c.errs = map[string]int64{}
		}
		c.errs[k] += v
	}
}

func (s *opStats) ok(d time.Duration, n int64) {
	s.mu.Lock()
	for _, c := range []*counters{&s.interval, &s.total} {
		c.ops++
		c.bytes += n
		c.lat.record(d)
	}
	s.mu.Unlock()
}

func (s *opStats) fail(kind string) {
	s.mu.Lock()
	for _, c := range []*counters{&s.interval, &s.total} {
		if c.errs == nil {
			c.errs = map[string]int64{}
		}
		c.errs[kind]++
	}
	s.mu.Unlock()
}

// takeInterval adds the interval counters to into and clears them.
func (s *opStats) takeInterval(into *counters) {
	s.mu.Lock()
	into.add(&s.interval)
	s.interval = counters{}
	s.mu.Unlock()
}

func (s *opStats) addTotal(into *counters) {
	s.mu.Lock()
	into.add(&s.total)
	s.mu.Unlock()
}

// Result is what one operation kind did over a span of time: the figures printed per interval
// and at the end, and written with --json.
type Result struct {
	Op        string           `json:"op"`
	Seconds   float64          `json:"seconds"`
	Ops       int64            `json:"ops"`
	Bytes     int64            `json:"bytes"`
	OpsPerSec float64          `json:"ops_per_sec"`
	MiBPerSec float64          `json:"mib_per_sec"`
	LatMin    Millis           `json:"lat_min_ms"`
	LatP50    Millis           `json:"lat_p50_ms"`
	LatP90    Millis           `json:"lat_p90_ms"`
	LatP99    Millis           `json:"lat_p99_ms"`
	LatMax    Millis           `json:"lat_max_ms"`
	Errors    int64            `json:"errors"`
	ErrKinds  map[string]int64 `json:"error_kinds,omitempty"`
}

// Millis is a duration written as fractional milliseconds.
type Millis float64

func ms(d time.Duration) Millis { return Millis(float64(d) / float64(time.Millisecond)) }

func (c *counters) result(op string, span time.Duration) Result {
	secs := span.Seconds()
	r := Result{Op: op, Seconds: secs, Ops: c.ops, Bytes: c.bytes, ErrKinds: c.errs}
	if secs > 0 {
		r.OpsPerSec = float64(c.ops) / secs
		r.MiBPerSec = float64(c.bytes) / secs / (1 << 20)
	}
	if c.lat.n > 0 {
		r.LatMin, r.LatMax = ms(time.Duration(c.lat.min)), ms(time.Duration(c.lat.max))
		r.LatP50, r.LatP90, r.LatP99 = ms(c.lat.quantile(.5)), ms(c.lat.quantile(.9)), ms(c.lat.quantile(.99))
	}
	for _, v := range c.errs {
		r.Errors += v
	}
	return r
}

// line formats a result for a person: one line per operation kind.
func (r Result) line() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-4s %9.0f ops/s %9.1f MiB/s  lat ms min %s p50 %s p90 %s p99 %s max %s  errors %d",
		r.Op, r.OpsPerSec, r.MiBPerSec, fmtMs(r.LatMin), fmtMs(r.LatP50), fmtMs(r.LatP90), fmtMs(r.LatP99),
		fmtMs(r.LatMax), r.Errors)
	if len(r.ErrKinds) > 0 {
		keys := make([]string, 0, len(r.ErrKinds))
		for k := range r.ErrKinds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "%s %d", k, r.ErrKinds[k])
		}
		sb.WriteString(")")
	}
	return sb.String()
}

func fmtMs(m Millis) string {
	switch {
	case m < 1:
		return fmt.Sprintf("%.3f", float64(m))
	case m < 100:
		return fmt.Sprintf("%.2f", float64(m))
	}
	return fmt.Sprintf("%.0f", float64(m))
}

// errKind names the kind of a failed request, for the error counts: the native or S3 error
// code (with the HTTP status), "timeout", "connection", "verify", "short-read" or "other".
func errKind(err error) string {
	var we *api.Error
	if errors.As(err, &we) {
		return fmt.Sprintf("%d-%s", we.Status, we.Code)
	}
	var he *httpStatusError
	if errors.As(err, &he) {
		return fmt.Sprintf("%d", he.status)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return "s3-" + ae.ErrorCode()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "file-" + pe.Op
	}
	var ne net.Error
	switch {
	case errors.Is(err, errVerify):
		return "verify"
	case errors.Is(err, errShort):
		return "short-read"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne), errors.Is(err, net.ErrClosed):
		return "connection"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "connection"
	}
	return "other"
}

// httpStatusError is an unexpected status from a plain HTTP server (the ceiling).
type httpStatusError struct {
	status int
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("HTTP status %d", e.status) }

// errShort is a GET that returned fewer bytes than expected.
var errShort = errors.New("fewer bytes than expected")
