package integration

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/tests/cluster"
)

// TestReadAfterWriteAcrossGateways: a PUT acknowledged through one gateway is read back through
// a second gateway at once, 1,000 times in a row, never stale.
func TestReadAfterWriteAcrossGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 1, Gateways: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, r := newClient(t, c, 0), newClient(t, c, 1)
	// The bucket is created through one gateway and used at once through the other.
	const bucket = "raw"
	if err := w.CreateBucket(ctx, bucket, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("key-%d", i%10) // overwrite, so a stale read would show an old value
		val := fmt.Sprintf("value %d of %s", i, name)
		if _, err := w.PutObject(ctx, bucket, name, strings.NewReader(val), int64(len(val)), nil); err != nil {
			t.Fatalf("put #%d: %v", i, err)
		}
		rc, _, err := r.GetObject(ctx, bucket, name, nil)
		if err != nil {
			t.Fatalf("get #%d through the second gateway: %v", i, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != val {
			t.Fatalf("read #%d through the second gateway: %q (%v), want %q", i, got, err, val)
		}
	}
}

// TestTargetRestart: a SIGKILLed target restarted with the same mountpaths serves all its
// objects again.
func TestTargetRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl := newClient(t, c, 0)
	const bucket = "restart"
	if err := cl.CreateBucket(ctx, bucket, nil); err != nil {
		t.Fatal(err)
	}
	objs := make([]body, 300)
	for i := range objs {
		objs[i] = body{name: fmt.Sprintf("o/%03d", i), size: int64(i * 997), seed: uint64(i)}
	}
	putAll(ctx, t, cl, bucket, objs)

	c.Targets[1].Kill()
	if err := c.Targets[1].Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, o := range objs {
		g.Go(func() error {
			_, err := getAndCompare(gctx, cl, bucket, o)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := len(listAll(ctx, t, cl, bucket, 1000)); n != len(objs) {
		t.Fatalf("listing after restart: %d objects, want %d", n, len(objs))
	}
}
