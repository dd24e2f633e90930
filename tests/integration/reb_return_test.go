package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// waitNodeState waits until meta's latest epoch has node id in state st.
func waitNodeState(ctx context.Context, t *testing.T, c *cluster.Cluster, id string, st meta.NodeState) {
	t.Helper()
	for {
		s, err := c.MetaClient.LatestSnapshot(ctx)
		if err == nil && s.Nodes[id].State == st {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not become %s", id, st)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestRebalanceOwnerReturns: a target is SIGKILLed and stays away past the node timeout, so
// meta marks it down and its objects get temporary owners. Meanwhile every one of its objects
// is overwritten there, and half of them are deleted after that. When it comes back, its older
// copies must neither replace the acknowledged overwrites (chaos bug 2: version counters are
// per target) nor bring the deleted objects back (chaos bug 3: tombstones), during the
// rebalance back nor after it; the listing at the end holds exactly the live objects.
func TestRebalanceOwnerReturns(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 1, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	patchConfig(ctx, t, c, `{"heartbeat_interval":"500ms","node_timeout":"2s"}`)
	cl := newClient(t, c, 0)
	if err := cl.CreateBucket(ctx, rebBucket, nil); err != nil {
		t.Fatal(err)
	}
	const n = 150
	objs := make([]body, n)
	for i := range objs {
		objs[i] = body{name: fmt.Sprintf("o/%03d", i), size: int64(100 + i*13), seed: uint64(i)}
	}
	// Several versions on the first owner, so its version counter is ahead.
	for v := 0; v < 3; v++ {
		for i := range objs {
			objs[i].seed = uint64(v*1000 + i)
		}
		putAll(ctx, t, cl, rebBucket, objs)
	}

	const gone = "t0" // cluster.AddTarget names target i "t<i>"
	// The objects of t0: its HRW share while it is active.
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view := api.NewView(snap)
	var theirs []int
	for i, o := range objs {
		owner, err := view.Placement.Owner(meta.ObjectKey(meta.BucketKey(meta.ProviderAIS, rebBucket), o.name))
		if err != nil {
			t.Fatal(err)
		}
		if owner.ID == gone {
			theirs = append(theirs, i)
		}
	}
	c.Targets[0].Kill()
	waitNodeState(ctx, t, c, gone, meta.NodeDown)

	if len(theirs) < n/10 {
		t.Fatalf("only %d of %d objects were on the down target", len(theirs), n)
	}
	live := map[string]body{}
	for _, o := range objs {
		live[o.name] = o
	}
	deleted := map[string]bool{}
	for k, i := range theirs {
		o := objs[i]
		o.seed = uint64(9000 + i)
		o.size += 7
		if _, err := cl.PutObject(ctx, rebBucket, o.name, o.reader(), o.size, nil); err != nil {
			t.Fatalf("overwrite %s while its owner is down: %v", o.name, err)
		}
		live[o.name] = o
		if k%2 == 0 {
			if err := cl.DeleteObject(ctx, rebBucket, o.name); err != nil {
				t.Fatalf("delete %s while its owner is down: %v", o.name, err)
			}
			delete(live, o.name)
			deleted[o.name] = true
		}
	}
	t.Logf("%d of %d objects on the down target %s: overwritten, %d of them deleted", len(theirs), n, gone, len(deleted))

	// A listing cannot be complete while t0 is down: it fails (503) rather than leave out
	// t0's objects (chaos bug 5).
	resp, err := http.Get(c.GatewayURLs[0] + "/v1/buckets/" + rebBucket)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(api.HeaderErrorCode) != "Unavailable" {
		t.Fatalf("listing with a target down: %s %s, want 503 Unavailable", resp.Status, lb)
	}

	since := time.Now()
	if err := c.Targets[0].Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, i := range theirs {
			name := objs[i].name
			if deleted[name] {
				if _, err := cl.HeadObject(ctx, rebBucket, name); meta.KindOf(err) != meta.KindNotExist && !is404(err) {
					t.Fatalf("%s: the deleted %s answers %v, want 404", when, name, err)
				}
				continue
			}
			if _, err := getAndCompare(ctx, cl, rebBucket, live[name]); err != nil {
				t.Fatalf("%s: %v (the acknowledged overwrite must win)", when, err)
			}
		}
	}
	check("right after the owner came back")
	waitRebalance(ctx, t, c, cl, since)
	check("after the rebalance")
	checkReadable(ctx, t, cl, live)
	checkListing(ctx, t, cl, live, nil)
}

func is404(err error) bool {
	var he *api.Error
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}
