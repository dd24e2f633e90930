package metasrv

import (
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

func withClock(clk *fakeClock) func(*Config) {
	return func(c *Config) {
		c.Now = clk.Now
		c.MonitorInterval = 5 * time.Millisecond
	}
}

// waitState waits until the leader's view shows node id in state st and returns the epoch.
func waitState(t *testing.T, tc *testCluster, id string, st meta.NodeState) uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		v := tc.ms[tc.leader()].srv.view()
		if v.Nodes[id].State == st {
			return v.Epoch
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("node %s never became %s", id, st)
	return 0
}

// settle lets the monitor loop run a few rounds at the current fake time.
func settle() { time.Sleep(60 * time.Millisecond) }

func TestHealthMonitor(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	tc := startCluster(t, 1, withClock(clk))
	ctx := ctxT(t)
	tgt := meta.Node{ID: "t1", Role: meta.RoleTarget, PublicURL: "http://127.0.0.1:9001", Mountpaths: []string{"/a"}}
	gw := meta.Node{ID: "g1", Role: meta.RoleGateway, PublicURL: "http://127.0.0.1:8080"}
	for _, n := range []meta.Node{tgt, gw} {
		if _, err := tc.client.Join(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(6 * time.Second)
	settle()
	if _, err := tc.client.Heartbeat(ctx, api.Heartbeat{ID: "g1"}); err != nil {
		t.Fatal(err)
	}
	before := tc.ms[0].srv.view().Epoch
	clk.Advance(5 * time.Second) // t1: 11 s of silence; g1: 5 s
	downAt := waitState(t, tc, "t1", meta.NodeDown)
	settle()
	v := tc.ms[0].srv.view()
	if downAt != before+1 || v.Epoch != downAt || v.Nodes["g1"].State != meta.NodeActive {
		t.Fatalf("epochs: before %d, down at %d, now %d; g1 %s; want one epoch for t1 only", before, downAt, v.Epoch, v.Nodes["g1"].State)
	}
	hr, err := tc.client.Heartbeat(ctx, api.Heartbeat{ID: "t1"})
	if err != nil || hr.Epoch != downAt+1 || tc.ms[0].srv.view().Nodes["t1"].State != meta.NodeActive {
		t.Fatalf("heartbeat of a down node: %+v %v; want active at epoch %d", hr, err, downAt+1)
	}

	// The cluster config's node_timeout rules when --node-timeout is not set.
	req := func(doc string) {
		st, _, body := do(t, "PATCH", tc.ms[0].url+"/v1/meta/config", doc)
		if st != 200 {
			t.Fatalf("patch config: %d %s", st, body)
		}
	}
	req(`{"node_timeout":"30s"}`)
	for _, id := range []string{"t1", "g1"} {
		if _, err := tc.client.Heartbeat(ctx, api.Heartbeat{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(20 * time.Second)
	settle()
	if st := tc.ms[0].srv.view().Nodes["t1"].State; st != meta.NodeActive {
		t.Fatalf("t1 is %s after 20 s with node_timeout 30 s", st)
	}
	clk.Advance(11 * time.Second)
	waitState(t, tc, "t1", meta.NodeDown)
	waitState(t, tc, "g1", meta.NodeDown)

	// Nodes in maintenance are not watched.
	if err := tc.client.SetNodeState(ctx, "t1", meta.NodeMaintenance); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	settle()
	if st := tc.ms[0].srv.view().Nodes["t1"].State; st != meta.NodeMaintenance {
		t.Fatalf("t1 in maintenance became %s", st)
	}
}

func TestNodeTimeoutFlagOverridesConfig(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	tc := startCluster(t, 1, func(c *Config) { withClock(clk)(c); c.NodeTimeout = 2 * time.Second })
	ctx := ctxT(t)
	if _, err := tc.client.Join(ctx, meta.Node{ID: "g1", Role: meta.RoleGateway, PublicURL: "http://127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(1500 * time.Millisecond)
	settle()
	if st := tc.ms[0].srv.view().Nodes["g1"].State; st != meta.NodeActive {
		t.Fatalf("g1 is %s after 1.5 s", st)
	}
	clk.Advance(time.Second)
	waitState(t, tc, "g1", meta.NodeDown)
}

// TestNewLeaderGivesGracePeriod: heartbeat times live in the leader's memory only, so a new
// leader starts every node with a full grace period instead of trusting silence it did not see.
func TestNewLeaderGivesGracePeriod(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	tc := startCluster(t, 3, withClock(clk))
	ctx := ctxT(t)
	if _, err := tc.client.Join(ctx, meta.Node{ID: "g1", Role: meta.RoleGateway, PublicURL: "http://127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Second) // silent for 9 s of its 10 under the first leader
	settle()
	old := tc.leader()
	tc.stop(old)
	if tc.leader() == old {
		t.Fatal("no new leader")
	}
	settle()
	clk.Advance(5 * time.Second) // 14 s since the last heartbeat, 5 s under the new leader
	settle()
	if st := tc.ms[tc.leader()].srv.view().Nodes["g1"].State; st != meta.NodeActive {
		t.Fatalf("new leader marked g1 %s before its own grace period ended", st)
	}
	clk.Advance(6 * time.Second)
	waitState(t, tc, "g1", meta.NodeDown)
}
