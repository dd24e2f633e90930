package metasrv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// do sends one raw request and returns status, Ais-Epoch and body. Like api clients, it
// tries again for a while on 503 (no leader known during an election).
func do(t *testing.T, method, url, body string) (int, uint64, []byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		epoch, _ := strconv.ParseUint(resp.Header.Get(api.HeaderEpoch), 10, 64)
		return resp.StatusCode, epoch, b
	}
}

func TestBucketsThroughAnyMember(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	ctx := ctxT(t)
	f := tc.ms[tc.follower()].url

	// A write through a follower is forwarded and answered with the epoch that holds it.
	st, epoch, body := do(t, http.MethodPut, f+"/v1/buckets/train", `{"mirror":{"copies":2}}`)
	if st != http.StatusOK {
		t.Fatalf("create via follower: %d %s", st, body)
	}
	var b meta.Bucket
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	if b.Name != "train" || b.Props.Mirror.Copies != 2 || b.ID == 0 || epoch == 0 {
		t.Fatalf("created %+v at epoch %d", b, epoch)
	}
	if _, _, err := tc.client.CreateBucket(ctx, "train", nil); !errors.Is(err, meta.ErrBucketExists) {
		t.Fatalf("second create: %v, want ErrBucketExists", err)
	}
	for _, name := range []string{"val", "alpha", "zeta"} {
		if _, _, err := tc.client.CreateBucket(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, e2, err := tc.client.PatchBucketProps(ctx, "train", []byte(`{"versioning":false}`))
	if err != nil || got.Props.Versioning || e2 <= epoch {
		t.Fatalf("patch: %+v epoch %d err %v", got, e2, err)
	}
	if _, err := tc.client.DestroyBucket(ctx, "val"); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.client.DestroyBucket(ctx, "val"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("second destroy: %v, want ErrBucketNotFound", err)
	}
	if _, _, err := tc.client.PatchBucketProps(ctx, "val", []byte(`{}`)); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("patch destroyed: %v, want ErrBucketNotFound", err)
	}
	re, _, err := tc.client.CreateBucket(ctx, "val", nil)
	if err != nil {
		t.Fatal(err)
	}

	final := tc.converge()
	for _, m := range tc.ms {
		mc, _ := api.NewMetaClient([]string{m.url}, nil)
		list, err := mc.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range list {
			names = append(names, b.Name)
		}
		if diff := cmp.Diff([]string{"alpha", "train", "val", "zeta"}, names); diff != "" {
			t.Errorf("%s lists (-want +got):\n%s", m.cfg.ID, diff)
		}
		vb, err := mc.Bucket(ctx, "val")
		if err != nil || vb.ID != re.ID {
			t.Errorf("%s: val = %+v, %v; want the recreated ID %d", m.cfg.ID, vb, err, re.ID)
		}
		if h, err := mc.Health(ctx); err != nil || h.Epoch != final || h.Role != "meta" || h.Node != m.cfg.ID {
			t.Errorf("%s health %+v %v, want epoch %d", m.cfg.ID, h, err, final)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	ctx := ctxT(t)
	if _, _, err := tc.client.CreateBucket(ctx, "exists", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.client.Join(ctx, meta.Node{ID: "g1", Role: meta.RoleGateway, PublicURL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		status             int
		code, mention      string
	}{
		{"PUT", "/v1/buckets/Bad_Name", "", 400, "InvalidBucketName", "lowercase"},
		{"PUT", "/v1/buckets/ab", "", 400, "InvalidBucketName", "3 to 63"},
		{"PUT", "/v1/buckets/a..b", "", 400, "InvalidBucketName", `".."`},
		{"PUT", "/v1/buckets/new-one", "{bad", 400, "InvalidRequest", "malformed JSON"},
		{"PUT", "/v1/buckets/new-one", "[1]", 400, "InvalidRequest", "malformed JSON"},
		{"PUT", "/v1/buckets/new-one", `{"checksum":{"type":"crc64"}}`, 400, "InvalidBucketProps", "crc64"},
		{"PUT", "/v1/buckets/new-one", `{"nosuch":1}`, 400, "InvalidBucketProps", "nosuch"},
		{"PUT", "/v1/buckets/exists", "", 409, "BucketAlreadyExists", "exists"},
		{"GET", "/v1/buckets/missing/props", "", 404, "BucketNotFound", "missing"},
		{"GET", "/v1/buckets/BAD/props", "", 400, "InvalidBucketName", "lowercase"},
		{"PATCH", "/v1/buckets/missing/props", `{"versioning":false}`, 404, "BucketNotFound", ""},
		{"PATCH", "/v1/buckets/exists/props", `{"mirror":{"copies":0}}`, 400, "InvalidBucketProps", "mirror.copies"},
		{"PATCH", "/v1/buckets/exists/props", `{"mirror":`, 400, "InvalidRequest", "malformed JSON"},
		{"DELETE", "/v1/buckets/missing", "", 404, "BucketNotFound", ""},
		{"POST", "/v1/meta/join", "", 400, "InvalidRequest", "body is required"},
		{"POST", "/v1/meta/join", "{", 400, "InvalidRequest", "malformed JSON"},
		{"POST", "/v1/meta/join", `{"id":"t1","role":"target","public_url":"http://h:1"}`, 400, "InvalidNode", "mountpaths"},
		{"POST", "/v1/meta/join", `{"id":"t1","role":"target","colour":"red"}`, 400, "InvalidRequest", "colour"},
		{"POST", "/v1/meta/heartbeat", `{"id":"nobody"}`, 404, "NodeNotFound", ""},
		{"POST", "/v1/meta/heartbeat", `{"id":""}`, 400, "InvalidNode", ""},
		{"POST", "/v1/meta/nodes/nobody/state", `{"state":"maintenance"}`, 404, "NodeNotFound", ""},
		{"POST", "/v1/meta/nodes/g1/state", `{"state":"sleepy"}`, 400, "InvalidRequest", "sleepy"},
		{"DELETE", "/v1/meta/nodes/nobody", "", 404, "NodeNotFound", ""},
		{"GET", "/v1/meta/epoch?after=x", "", 400, "InvalidRequest", "after"},
		{"GET", "/v1/meta/epoch?after=1&wait=forever", "", 400, "InvalidRequest", "wait"},
		{"GET", "/v1/meta/epoch?linearizable=maybe", "", 400, "InvalidRequest", "linearizable"},
		{"POST", "/v1/meta/leases", `{"job_id":"j"}`, 400, "InvalidRequest", "holder"},
		{"POST", "/v1/meta/leases", `{"job_id":"j","holder":"t","ttl":"-1s"}`, 400, "InvalidRequest", "ttl"},
		{"POST", "/v1/meta/leases", `{"job_id":"j","holder":"t","ttl":5}`, 400, "InvalidRequest", "duration"},
		{"POST", "/v1/meta/leases/none/renew", `{"holder":"t","token":1}`, 404, "LeaseNotFound", ""},
		{"POST", "/v1/meta/leases/a/renew", `{"job_id":"b","holder":"t"}`, 400, "InvalidRequest", "path"},
		{"DELETE", "/v1/meta/leases/none?holder=t", "", 404, "LeaseNotFound", ""},
		{"PATCH", "/v1/meta/config", `{"node_timeout":"1ms"}`, 400, "InvalidConfig", "node_timeout"},
		{"PATCH", "/v1/meta/config", `{"signing_key":"00"}`, 400, "InvalidConfig", "signing_key"},
		{"GET", "/v1/nosuch", "", 404, "NotFound", ""},
		{"DELETE", "/v1/health", "", 405, "MethodNotAllowed", ""},
		{"PUT", "/v1/buckets/big-one", `{"x":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "EntityTooLarge", ""},
	}
	for _, tt := range tests {
		for _, who := range []int{tc.leader(), tc.follower()} {
			name := fmt.Sprintf("%s %.40s via %s", tt.method, tt.path, tc.ms[who].cfg.ID)
			t.Run(name, func(t *testing.T) {
				st, _, body := do(t, tt.method, tc.ms[who].url+tt.path, tt.body)
				var we api.Error
				if err := json.Unmarshal(body, &we); err != nil {
					t.Fatalf("status %d, body %q is not a JSON error: %v", st, body, err)
				}
				if st != tt.status || we.Code != tt.code || we.Status != st || !strings.Contains(we.Message, tt.mention) {
					t.Fatalf("got %d %+v; want %d %s mentioning %q", st, we, tt.status, tt.code, tt.mention)
				}
			})
		}
	}
}

func TestEpochWatch(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	ctx := ctxT(t)
	tc.converge()
	f := tc.ms[tc.follower()]
	mc, _ := api.NewMetaClient([]string{f.url}, nil)
	cur, err := mc.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Config.SigningKey == "" {
		t.Fatal("the full snapshot carries no signing key")
	}
	if s, err := mc.WatchEpoch(ctx, cur.Epoch, 100*time.Millisecond); s != nil || err != nil {
		t.Fatalf("watch without a change: %v %v, want 304 (nil, nil)", s, err)
	}
	got := make(chan *meta.Snapshot, 1)
	go func() {
		s, err := mc.WatchEpoch(ctx, cur.Epoch, 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	_, epoch, err := tc.client.CreateBucket(ctx, "woken", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s == nil || s.Epoch < epoch {
		t.Fatalf("watch returned %v, want epoch >= %d", s, epoch)
	}
	if _, ok := s.Bucket(meta.ProviderAIS, "woken"); !ok || time.Since(start) > 2*time.Second {
		t.Fatalf("watch answer lacks the bucket or came late (%s)", time.Since(start))
	}
	lin, err := mc.LatestSnapshot(ctx)
	if err != nil || lin.Epoch < epoch {
		t.Fatalf("linearizable snapshot %v %v, want epoch >= %d", lin, err, epoch)
	}
}

func TestNodesAndLeases(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	ctx := ctxT(t)
	tgt := meta.Node{ID: "t1", Role: meta.RoleTarget, PublicURL: "http://127.0.0.1:9001", Mountpaths: []string{"/a"}}
	jr, err := tc.client.Join(ctx, tgt)
	if err != nil || jr.Node.State != meta.NodeActive || jr.Epoch == 0 {
		t.Fatalf("join %+v %v", jr, err)
	}
	again, err := tc.client.Join(ctx, tgt)
	if err != nil || again.Epoch != jr.Epoch {
		t.Fatalf("unchanged re-join: %+v %v, want epoch %d", again, err, jr.Epoch)
	}
	if _, err := tc.client.Join(ctx, meta.Node{ID: "g1", Role: meta.RoleGateway, PublicURL: "http://127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	if hr, err := tc.client.Heartbeat(ctx, api.Heartbeat{ID: "t1"}); err != nil || hr.Epoch <= jr.Epoch {
		t.Fatalf("heartbeat %+v %v", hr, err)
	}
	if err := tc.client.SetNodeState(ctx, "t1", meta.NodeMaintenance); err != nil {
		t.Fatal(err)
	}
	tc.converge() // /v1/cluster answers from the member's own view
	ci, err := tc.client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ci.Nodes) != 2 || ci.Nodes[0].ID != "g1" || ci.Nodes[1].State != meta.NodeMaintenance {
		t.Fatalf("cluster nodes %+v", ci.Nodes)
	}
	leaders := 0
	for _, m := range ci.Meta {
		if m.Leader {
			leaders++
			if m.ID != ci.Leader {
				t.Errorf("leader flag on %s, leader is %s", m.ID, ci.Leader)
			}
		}
		if m.HTTPURL == "" || m.RaftAddr == "" || !m.Voter {
			t.Errorf("member %+v", m)
		}
	}
	if len(ci.Meta) != 3 || leaders != 1 || ci.Term == 0 || ci.CommitIndex == 0 || ci.AppliedIndex == 0 {
		t.Fatalf("cluster info %+v", ci)
	}
	if err := tc.client.RemoveNode(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.client.Heartbeat(ctx, api.Heartbeat{ID: "t1"}); !errors.Is(err, meta.ErrNodeNotFound) {
		t.Fatalf("heartbeat of removed node: %v, want ErrNodeNotFound", err)
	}

	l1, err := tc.client.GrantLease(ctx, api.LeaseRequest{JobID: "reb", Kind: "rebalance", Holder: "t2", TTL: meta.Duration(time.Minute)})
	if err != nil || l1.Token == 0 || l1.Holder != "t2" {
		t.Fatalf("grant %+v %v", l1, err)
	}
	if _, err := tc.client.GrantLease(ctx, api.LeaseRequest{JobID: "reb", Kind: "rebalance", Holder: "t3"}); !errors.Is(err, meta.ErrLeaseHeld) {
		t.Fatalf("grant while held: %v, want ErrLeaseHeld", err)
	}
	l2, err := tc.client.RenewLease(ctx, api.LeaseRequest{JobID: "reb", Holder: "t2", Token: l1.Token, TTL: meta.Duration(2 * time.Minute)})
	if err != nil || l2.Token != l1.Token || l2.Expires <= l1.Expires {
		t.Fatalf("renew %+v %v", l2, err)
	}
	if _, err := tc.client.RenewLease(ctx, api.LeaseRequest{JobID: "reb", Holder: "t2", Token: l1.Token - 1}); !errors.Is(err, meta.ErrStaleToken) {
		t.Fatalf("renew with a stale token: %v, want ErrStaleToken", err)
	}
	if err := tc.client.ReleaseLease(ctx, "reb", "t2"); err != nil {
		t.Fatal(err)
	}
	l3, err := tc.client.GrantLease(ctx, api.LeaseRequest{JobID: "reb", Kind: "rebalance", Holder: "t3"})
	if err != nil || l3.Token <= l1.Token {
		t.Fatalf("re-grant %+v %v, want a token above %d", l3, err, l1.Token)
	}
}

// TestLeaderChange: a member that stops hands leadership over; writes go on; the member
// restarts from its directory and catches up.
func TestLeaderChange(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	ctx := ctxT(t)
	for i := range 5 {
		if _, _, err := tc.client.CreateBucket(ctx, fmt.Sprintf("before-%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	old := tc.leader()
	tc.stop(old)
	if now := tc.leader(); now == old {
		t.Fatal("stopped member still leads")
	}
	for i := range 5 {
		if _, _, err := tc.client.CreateBucket(ctx, fmt.Sprintf("after-%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	tc.restart(old)
	epoch := tc.converge()
	if got := len(tc.ms[old].srv.view().Buckets); got != 10 {
		t.Fatalf("restarted member has %d buckets at epoch %d, want 10", got, epoch)
	}
}

// TestSnapshots: with a low snapshot threshold the log is compacted; a member that was away
// gets the leader's snapshot installed (fsm.Restore), and a restarted member restores its own.
func TestSnapshots(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, func(c *Config) {
		c.Raft.SnapshotThreshold = 8
		c.Raft.SnapshotInterval = 20 * time.Millisecond
		c.Raft.TrailingLogs = 2
	})
	ctx := ctxT(t)
	away := tc.follower()
	tc.stop(away)
	for i := range 40 {
		if _, _, err := tc.client.CreateBucket(ctx, fmt.Sprintf("snap-%02d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	leader := tc.ms[tc.leader()].srv
	deadline := time.Now().Add(5 * time.Second)
	for leader.raft.Stats()["last_snapshot_index"] == "0" {
		if time.Now().After(deadline) {
			t.Fatal("leader took no snapshot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tc.restart(away)
	epoch := tc.converge()
	if got := len(tc.ms[away].srv.view().Buckets); got != 40 || tc.ms[away].srv.view().Config.SigningKey == "" {
		t.Fatalf("member back from away has %d buckets at epoch %d, want 40 and the signing key", got, epoch)
	}
	// A linearizable read through a follower sees everything acknowledged before it.
	mc, _ := api.NewMetaClient([]string{tc.ms[away].url}, nil)
	if _, _, err := tc.client.CreateBucket(ctx, "last-one", nil); err != nil {
		t.Fatal(err)
	}
	st, _, body := do(t, "GET", tc.ms[away].url+"/v1/buckets/last-one/props?linearizable=true", "")
	if st != http.StatusOK {
		t.Fatalf("linearizable read via follower: %d %s", st, body)
	}
	if _, err := mc.LatestSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
}
