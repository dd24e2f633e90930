package target

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// Headers of the target-to-target endpoints on the data listener (docs/rebalance.md). The
// object's checksum and version travel in api.HeaderChecksumType/Value and api.HeaderVersion,
// the sender's epoch in api.HeaderEpoch.
const (
	headerMtime    = "Ais-Mtime"             // Unix nanoseconds of the copy's write
	headerWEpoch   = "Ais-Write-Epoch"       // the epoch at which the copy's write was accepted
	headerBucketID = "Ais-Bucket-Id"         // the bucket incarnation the copy belongs to
	headerCustom   = "Ais-Custom"            // custom metadata: base64url(JSON object)
	headerJob      = "Ais-Job-Id"            // the rebalance job that sends the copy
	headerLease    = "Ais-Lease"             // the sender's lease (job ID in meta's lease table)
	headerToken    = "Ais-Fence-Token"       // the lease's fencing token
	headerOutcome  = "Ais-Rebalance-Outcome" // the receiver's answer: stored, kept or refused
)

// Paths of the data listener's target-to-target endpoints.
const (
	rebalancePrefix = "/v1/internal/rebalance/" // PUT: a copy sent by a rebalance
	copiesPrefix    = "/v1/internal/copies/"    // HEAD, GET, DELETE: a neighbour's local copy
)

// internalObjectURL is base + prefix + bucket + "/" + object, each name component escaped.
func internalObjectURL(base, prefix, bucket, object string) string {
	var sb strings.Builder
	sb.WriteString(strings.TrimRight(base, "/"))
	sb.WriteString(prefix)
	sb.WriteString(url.PathEscape(bucket))
	for _, comp := range strings.Split(object, "/") {
		sb.WriteByte('/')
		sb.WriteString(url.PathEscape(comp))
	}
	return sb.String()
}

func encodeCustom(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	raw, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCustom(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var m map[string]string
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", meta.ErrInvalidRequest, headerCustom, err)
	}
	return m, nil
}

// setCopyHeaders describes a copy in request or response headers.
func setCopyHeaders(h http.Header, m *ObjectMeta) {
	h.Set(api.HeaderVersion, strconv.FormatUint(m.Version, 10))
	h.Set(headerMtime, strconv.FormatInt(m.Mtime, 10))
	h.Set(headerWEpoch, strconv.FormatUint(m.Epoch, 10))
	h.Set(headerBucketID, strconv.FormatUint(m.BucketID, 10))
	h.Set(api.HeaderChecksumType, m.ChecksumType)
	if len(m.Checksum) > 0 {
		h.Set(api.HeaderChecksumValue, m.ChecksumHex())
	}
	if c := encodeCustom(m.Custom); c != "" {
		h.Set(headerCustom, c)
	}
}

// copyHeaders reads what setCopyHeaders wrote.
type copyHeaders struct {
	stamp
	bucketID uint64
	want     Checksum
	custom   map[string]string
}

func readCopyHeaders(h http.Header) (copyHeaders, error) {
	var ch copyHeaders
	var err1, err2, err3 error
	ch.Version, err1 = strconv.ParseUint(h.Get(api.HeaderVersion), 10, 64)
	ch.Mtime, err2 = strconv.ParseInt(h.Get(headerMtime), 10, 64)
	ch.bucketID, err3 = strconv.ParseUint(h.Get(headerBucketID), 10, 64)
	if e := h.Get(headerWEpoch); e != "" { // absent: a sender of before the write epoch
		var err error
		if ch.Epoch, err = strconv.ParseUint(e, 10, 64); err != nil {
			return ch, fmt.Errorf("%w: %s: %v", meta.ErrInvalidRequest, headerWEpoch, err)
		}
	}
	if err1 != nil || err2 != nil || err3 != nil || ch.Version == 0 {
		return ch, fmt.Errorf("%w: a copy needs %s, %s and %s", meta.ErrInvalidRequest, api.HeaderVersion, headerMtime, headerBucketID)
	}
	if typ := h.Get(api.HeaderChecksumType); typ != "" && typ != meta.ChecksumNone && h.Get(api.HeaderChecksumValue) != "" {
		var err error
		if ch.want, err = clientChecksum(h, typ); err != nil {
			return ch, err
		}
	}
	var err error
	ch.custom, err = decodeCustom(h.Get(headerCustom))
	return ch, err
}

// rebalanceNode is what the balancer's executor sees of this target during one job.
type rebalanceNode struct {
	r    *rebalancer
	prev *meta.Placement
}

var _ balancer.Node = (*rebalanceNode)(nil)

func (n *rebalanceNode) Walk(ctx context.Context, fn func(balancer.Item) error) error {
	return n.r.s.store.Walk(ctx, fn)
}

func (n *rebalanceNode) Generation() uint64 { return n.r.gen.Load() }

// Plan plans with the current view; copies of buckets the view does not have (or has under
// another ID) stay where they are: the bucket's removal takes them.
func (n *rebalanceNode) Plan(items []balancer.Item) []balancer.Move {
	v := n.r.s.follower.Current()
	keep := items[:0:0]
	for _, it := range items {
		if b, ok := v.Snap.Buckets[it.BucketKey]; ok && b.ID == it.BucketID && !n.r.s.store.redundantCopy(&b, it) {
			keep = append(keep, it) // a mirrored object moves once, from its primary (mirror.go)
		}
	}
	return balancer.PlanRebalance(n.r.s.id, n.prev, v.Placement, keep)
}

// bucketOf returns the bucket of an item in the current view.
func (n *rebalanceNode) bucketOf(it balancer.Item) (*api.View, *meta.Bucket, bool) {
	v := n.r.s.follower.Current()
	b, ok := v.Snap.Buckets[it.BucketKey]
	if !ok || b.ID != it.BucketID {
		return v, nil, false
	}
	return v, &b, true
}

func (n *rebalanceNode) Send(ctx context.Context, m balancer.Move) (balancer.Outcome, error) {
	v, b, ok := n.bucketOf(m.Item)
	if !ok {
		return balancer.Refused, nil
	}
	dest, ok := v.Snap.Nodes[m.To]
	if !ok || dest.DataURL == "" {
		return 0, fmt.Errorf("target: send %s: %w: no target %s at epoch %d", m.Item.Key(), meta.ErrUnavailable, m.To, v.Snap.Epoch)
	}
	o, err := n.r.s.store.OpenCopy(m.Item.Mountpath, b, m.Item.Name)
	if err != nil {
		if meta.KindOf(err) == meta.KindNotExist {
			return balancer.Kept, nil // deleted meanwhile: nothing to send
		}
		return 0, err
	}
	defer o.Close()
	if o.Meta.EC.Sliced() {
		return n.r.s.sendStub(ctx, dest, b, o.Meta) // ec_put.go: an EC record without bytes
	}
	leaseID, token := "", uint64(0)
	if l := n.r.lease.Load(); l != nil {
		leaseID, token = l.Lease().JobID, l.Token()
	}
	out, err := n.r.sendCopy(ctx, dest, v.Snap.Epoch, b, o, n.r.currentJob(), leaseID, token)
	if err != nil {
		return 0, fmt.Errorf("target: send %s to %s: %w", m.Item.Key(), m.To, err)
	}
	return out, nil
}

func (n *rebalanceNode) Remove(ctx context.Context, m balancer.Move) error {
	_, b, ok := n.bucketOf(m.Item)
	if !ok {
		return nil
	}
	if err := n.r.s.store.RemoveCopy(m.Item.Mountpath, b, m.Item.Name, m.Item.Version, m.Item.Mtime, b.Props.Write.Fsync); err != nil {
		return err
	}
	return n.r.s.store.removeMirrorCopies(b, m.Item) // mirror.go: the object's other copies go with it
}

// lastJob is the current or last rebalance job (nil if none ran yet).
func (r *rebalancer) lastJob() *jobs.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.job
}

// currentJob is the ID of the current or last rebalance job ("" if none).
func (r *rebalancer) currentJob() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.job == nil {
		return ""
	}
	return r.mu.job.ID()
}

// sendCopy PUTs an open copy to dest's rebalance endpoint and returns its outcome.
func (r *rebalancer) sendCopy(ctx context.Context, dest meta.Node, epoch uint64, b *meta.Bucket, o *Object,
	job, leaseID string, token uint64) (balancer.Outcome, error) {
	m := o.Meta
	var body io.Reader = http.NoBody
	if m.Size > 0 {
		body = r.limiter.Reader(ctx, io.NewSectionReader(o.File, 0, m.Size))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut,
		internalObjectURL(dest.DataURL, rebalancePrefix, b.Name, m.Name), body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = m.Size
	h := req.Header
	setCopyHeaders(h, m)
	h.Set(api.HeaderEpoch, strconv.FormatUint(epoch, 10))
	if job != "" {
		h.Set(headerJob, job)
	}
	if leaseID != "" {
		h.Set(headerLease, leaseID)
		h.Set(headerToken, strconv.FormatUint(token, 10))
	}
	if m.Size > 0 {
		h.Set("Expect", "100-continue")
	}
	resp, err := r.peer.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", meta.ErrUnavailable, err)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return 0, api.ReadError(resp)
	}
	switch resp.Header.Get(headerOutcome) {
	case "stored":
		return balancer.Stored, nil
	case "kept":
		return balancer.Kept, nil
	case "refused":
		return balancer.Refused, nil
	}
	return 0, fmt.Errorf("target: %s answered a copy without an outcome", dest.ID)
}
