package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<40; v = v*5/4 + 1 {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", v, i, prev)
		}
		if lo := lowOf(i); lo > v || lowOf(i+1) <= v {
			t.Fatalf("%d is not in bucket %d [%d, %d)", v, i, lo, lowOf(i+1))
		}
		prev = i
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var all []int64
	for range 100_000 {
		v := int64(rng.ExpFloat64() * float64(3*time.Millisecond))
		all = append(all, v)
		h.record(time.Duration(v))
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := float64(all[int(q*float64(len(all)))])
		got := float64(h.quantile(q))
		if got < want*0.96 || got > want*1.04 {
			t.Errorf("q%.2f = %v, want %v within 4%%", q, time.Duration(got), time.Duration(want))
		}
	}
	if time.Duration(h.min) != time.Duration(all[0]) || time.Duration(h.max) != time.Duration(all[len(all)-1]) {
		t.Errorf("min %d max %d, want %d %d", h.min, h.max, all[0], all[len(all)-1])
	}
	var m histogram
	m.merge(&h)
	m.merge(&h)
	if m.n != 2*h.n || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merge: n %d, p50 %v vs %v", m.n, m.quantile(0.5), h.quantile(0.5))
	}
}

func TestErrKind(t *testing.T) {
	_, statErr := os.Stat("/nonexistent/x")
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("api: get: %w", &api.Error{Code: "ObjectNotFound", Status: 404}), "404-ObjectNotFound"},
		{&httpStatusError{status: 503}, "503"},
		{fmt.Errorf("x: %w", errVerify), "verify"},
		{fmt.Errorf("x: %w", errShort), "short-read"},
		{context.DeadlineExceeded, "timeout"},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, "connection"},
		{statErr, "file-stat"},
		{meta.ErrCorrupt, "other"},
	}
	for _, tt := range tests {
		if got := errKind(tt.err); got != tt.want {
			t.Errorf("errKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
