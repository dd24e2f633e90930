package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// MetaClient talks to the meta quorum's HTTP API. Any member answers any request (writes are
// forwarded to the leader), so the client tries members in turn.
type MetaClient struct {
	ep *endpoints
}

// NewMetaClient returns a client over the given meta member URLs. hc may be nil.
func NewMetaClient(urls []string, hc *http.Client) (*MetaClient, error) {
	ep, err := newEndpoints(urls, hc)
	if err != nil {
		return nil, err
	}
	return &MetaClient{ep: ep}, nil
}

// Health asks one member (the next in turn) whether it serves.
func (c *MetaClient) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.ep.call(ctx, http.MethodGet, "/v1/health", nil, nil, &h)
}

// Cluster returns the quorum's members, Raft state and the cluster map.
func (c *MetaClient) Cluster(ctx context.Context) (*ClusterInfo, error) {
	var ci ClusterInfo
	return &ci, c.ep.call(ctx, http.MethodGet, "/v1/cluster", nil, nil, &ci)
}

// Join registers (or re-registers) a node; the answer carries the epoch that includes it.
func (c *MetaClient) Join(ctx context.Context, n meta.Node) (*JoinResponse, error) {
	var jr JoinResponse
	return &jr, c.ep.call(ctx, http.MethodPost, "/v1/meta/join", nil, n, &jr)
}

// Heartbeat tells the leader the node is alive. meta.ErrNodeNotFound means the node must join.
func (c *MetaClient) Heartbeat(ctx context.Context, hb Heartbeat) (*HeartbeatResponse, error) {
	var hr HeartbeatResponse
	return &hr, c.ep.call(ctx, http.MethodPost, "/v1/meta/heartbeat", nil, hb, &hr)
}

// Snapshot returns the current published snapshot, including the shared config.
func (c *MetaClient) Snapshot(ctx context.Context) (*meta.Snapshot, error) {
	var s meta.Snapshot
	return &s, c.ep.call(ctx, http.MethodGet, "/v1/meta/epoch", nil, nil, &s)
}

// WatchEpoch long-polls for a snapshot newer than after. It returns (nil, nil) when wait passes
// without a newer epoch.
func (c *MetaClient) WatchEpoch(ctx context.Context, after uint64, wait time.Duration) (*meta.Snapshot, error) {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {wait.String()}}
	var s meta.Snapshot
	err := c.ep.call(ctx, http.MethodGet, "/v1/meta/epoch", q, nil, &s)
	if errors.Is(err, errNotModified) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// SetNodeState asks meta to move a node to a new state (maintenance, active, ...).
func (c *MetaClient) SetNodeState(ctx context.Context, id string, st meta.NodeState) error {
	return c.ep.call(ctx, http.MethodPost, "/v1/meta/nodes/"+url.PathEscape(id)+"/state", nil, NodeStateRequest{State: st}, nil)
}

// RemoveNode removes a node from the cluster map.
func (c *MetaClient) RemoveNode(ctx context.Context, id string) error {
	return c.ep.call(ctx, http.MethodDelete, "/v1/meta/nodes/"+url.PathEscape(id), nil, nil, nil)
}

// CreateBucket creates an ais:// bucket; props (a JSON merge document) may be nil. It returns
// the bucket and the epoch that holds it.
func (c *MetaClient) CreateBucket(ctx context.Context, name string, props []byte) (*meta.Bucket, uint64, error) {
	var in any
	if len(props) > 0 {
		in = props
	}
	var b meta.Bucket
	epoch, err := c.ep.callEpoch(ctx, http.MethodPut, "/v1/buckets/"+url.PathEscape(name), nil, in, &b)
	return &b, epoch, err
}

// ListBuckets lists all buckets.
func (c *MetaClient) ListBuckets(ctx context.Context) ([]meta.Bucket, error) {
	var bl BucketList
	err := c.ep.call(ctx, http.MethodGet, "/v1/buckets", linearizable(nil), nil, &bl)
	return bl.Buckets, err
}

// Bucket returns one bucket with its properties.
func (c *MetaClient) Bucket(ctx context.Context, name string) (*meta.Bucket, error) {
	var b meta.Bucket
	return &b, c.ep.call(ctx, http.MethodGet, "/v1/buckets/"+url.PathEscape(name)+"/props", linearizable(nil), nil, &b)
}

// PatchBucketProps applies a JSON merge document to a bucket's properties and returns the
// bucket and the epoch that holds the change.
func (c *MetaClient) PatchBucketProps(ctx context.Context, name string, patch []byte) (*meta.Bucket, uint64, error) {
	var b meta.Bucket
	epoch, err := c.ep.callEpoch(ctx, http.MethodPatch, "/v1/buckets/"+url.PathEscape(name)+"/props", nil, patch, &b)
	return &b, epoch, err
}

// DestroyBucket removes a bucket from the bucket metadata and returns the epoch without it.
func (c *MetaClient) DestroyBucket(ctx context.Context, name string) (uint64, error) {
	return c.ep.callEpoch(ctx, http.MethodDelete, "/v1/buckets/"+url.PathEscape(name), nil, nil, nil)
}

// LatestSnapshot returns the newest committed snapshot: the member asks the leader, which
// answers after a Raft barrier. Use it when a cached epoch says a bucket does not exist.
func (c *MetaClient) LatestSnapshot(ctx context.Context) (*meta.Snapshot, error) {
	var s meta.Snapshot
	return &s, c.ep.call(ctx, http.MethodGet, "/v1/meta/epoch", url.Values{"linearizable": {"true"}}, nil, &s)
}

// GrantLease asks for a job's lease.
func (c *MetaClient) GrantLease(ctx context.Context, r LeaseRequest) (*meta.Lease, error) {
	var l meta.Lease
	return &l, c.ep.call(ctx, http.MethodPost, "/v1/meta/leases", nil, r, &l)
}

// RenewLease extends a held lease; r.Token must be the lease's token.
func (c *MetaClient) RenewLease(ctx context.Context, r LeaseRequest) (*meta.Lease, error) {
	var l meta.Lease
	return &l, c.ep.call(ctx, http.MethodPost, "/v1/meta/leases/"+url.PathEscape(r.JobID)+"/renew", nil, r, &l)
}

// ReleaseLease gives a lease back.
func (c *MetaClient) ReleaseLease(ctx context.Context, jobID, holder string) error {
	q := url.Values{"holder": {holder}}
	return c.ep.call(ctx, http.MethodDelete, "/v1/meta/leases/"+url.PathEscape(jobID), q, nil, nil)
}

// linearizable adds linearizable=true to q: the member forwards the read to the leader, which
// answers after a Raft barrier, so a caller reads its own acknowledged writes whichever member
// it reaches. Administrative reads use it; the epoch follower does not need it.
func linearizable(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	q.Set("linearizable", "true")
	return q
}
