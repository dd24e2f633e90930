package integration

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// TestS3ConditionalPutOwnerReturns: objects are written while their owner is down, so they sit
// on substitute owners. When the owner comes back, and before its rebalance back has brought
// them home (slowed here by a bandwidth cap), a conditional PUT on it must see them: If-None-
// Match: * is refused with 412 and If-Match of the substitute's ETag succeeds. The owner used
// to check the condition against its own disk only, so If-None-Match: * overwrote an existing
// object and If-Match answered 404 (found by the chaos register workload's conditional PUTs).
func TestS3ConditionalPutOwnerReturns(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	e := newS3Env(t, cluster.Spec{Meta: 1, Targets: 3, Mountpaths: 1, Gateways: 1})
	c := e.c
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	patchConfig(ctx, t, c, `{"heartbeat_interval":"500ms","node_timeout":"2s","rebalance":{"bandwidth":4096}}`)
	const bucket, gone = "condreturn", "t0"
	mkBucket(ctx, t, e.cl, bucket)
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view := api.NewView(snap)
	var names []string
	for i := 0; len(names) < 8 && i < 1000; i++ {
		name := fmt.Sprintf("cond/%03d", i)
		owner, err := view.Placement.Owner(meta.ObjectKey(meta.BucketKey(meta.ProviderAIS, bucket), name))
		if err != nil {
			t.Fatal(err)
		}
		if owner.ID == gone {
			names = append(names, name)
		}
	}

	c.Targets[0].Kill()
	waitNodeState(ctx, t, c, gone, meta.NodeDown)
	etags := map[string]string{}
	for i, name := range names {
		etags[name] = aws.ToString(put(ctx, t, e.cl, bucket, name, randBytes(uint64(i), 64<<10)).ETag)
	}
	if err := c.Targets[0].Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(name),
			Body: bytes.NewReader(randBytes(uint64(100+i), 1000))}
		if i%2 == 0 {
			in.IfNoneMatch = aws.String("*")
			_, err := e.cl.PutObject(ctx, in)
			wantS3Err(t, "If-None-Match: * of "+name+", written while its owner was down", err, "PreconditionFailed", 412)
			continue
		}
		in.IfMatch = aws.String(etags[name])
		if _, err := e.cl.PutObject(ctx, in); err != nil {
			t.Fatalf("If-Match %s of %s, written while its owner was down: %v", etags[name], name, err)
		}
	}
	patchConfig(ctx, t, c, `{"rebalance":{"bandwidth":0}}`)
}
