package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// Client is the Go client of a gateway's native REST API. Object requests follow the gateway's
// redirect to the owning target themselves (re-sending a PUT body), and go back to the gateway
// when a target answers that the epoch moved on. It is safe for concurrent use.
type Client struct {
	ep   *endpoints
	base string
	hc   *http.Client

	// Proxy asks the gateway to stream object data through itself (?proxy=true) rather than
	// redirect the client to the target.
	Proxy bool
	// MaxAttempts bounds how many times one object request is sent to the gateway when
	// answers say "retry" (421 StaleEpoch, 503, connection failures). Zero means 10.
	MaxAttempts int
	// RedirectCacheSize is how many signed target URLs (the gateway's redirects) the client
	// keeps and reuses until shortly before they expire, so that a repeated request on an object
	// takes one round trip instead of two. Zero means DefaultRedirectCacheSize; a negative
	// value turns the cache off. Set it before the first request.
	RedirectCacheSize int

	cacheOnce sync.Once
	redirects *redirectCache // nil when off
}

// ExpectContinueTimeout is how long a client waits for "100 Continue" before it sends a PUT
// body anyway. It is long enough for a target to catch up with an epoch before it reads.
const ExpectContinueTimeout = 6 * time.Second

// NewClient returns a client of the gateway at endpoint ("http://host:port" or "host:port").
// hc may be nil. The client uses a copy of hc that does not follow redirects by itself, and
// whose transport (if it is an *http.Transport) waits for "100 Continue" before PUT bodies.
func NewClient(endpoint string, hc *http.Client) (*Client, error) {
	if hc == nil {
		hc = NewHTTPClient()
	}
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tr := own.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if t, ok := tr.(*http.Transport); ok && t.ExpectContinueTimeout == 0 {
		t = t.Clone()
		t.ExpectContinueTimeout = ExpectContinueTimeout
		tr = t
	}
	own.Transport = tr
	ep, err := newEndpoints([]string{endpoint}, &own)
	if err != nil {
		return nil, err
	}
	return &Client{ep: ep, base: ep.urls[0], hc: &own}, nil
}

// Endpoint returns the gateway's base URL.
func (c *Client) Endpoint() string { return c.base }

// Health asks the gateway whether it serves.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.ep.call(ctx, http.MethodGet, "/v1/health", nil, nil, &h)
}

// Cluster returns the cluster as the gateway sees it: meta members, targets and gateways with
// their state, mountpaths and capacity, and the epoch.
func (c *Client) Cluster(ctx context.Context) (*ClusterInfo, error) {
	var ci ClusterInfo
	return &ci, c.ep.call(ctx, http.MethodGet, "/v1/cluster", nil, nil, &ci)
}

// CreateBucket creates an ais:// bucket. props, a JSON merge document of meta.BucketProps such
// as {"checksum":{"type":"md5"}}, may be nil. BucketProps returns the bucket as created.
func (c *Client) CreateBucket(ctx context.Context, name string, props []byte) error {
	var in any
	if len(props) > 0 {
		in = props
	}
	return c.ep.call(ctx, http.MethodPut, bucketPath(name), nil, in, nil)
}

// ListBuckets lists all buckets, sorted by name.
func (c *Client) ListBuckets(ctx context.Context) ([]meta.Bucket, error) {
	var bl BucketList
	err := c.ep.call(ctx, http.MethodGet, "/v1/buckets", nil, nil, &bl)
	return bl.Buckets, err
}

// HeadBucket returns nil if the bucket exists, and an error matching meta.ErrBucketNotFound if
// it does not.
func (c *Client) HeadBucket(ctx context.Context, name string) error {
	return c.ep.call(ctx, http.MethodHead, bucketPath(name), nil, nil, nil)
}

// BucketProps returns a bucket with its properties.
func (c *Client) BucketProps(ctx context.Context, name string) (*meta.Bucket, error) {
	var b meta.Bucket
	return &b, c.ep.call(ctx, http.MethodGet, bucketPath(name)+"/props", nil, nil, &b)
}

// PatchBucketProps applies a JSON merge document to a bucket's properties and returns the
// bucket as changed.
func (c *Client) PatchBucketProps(ctx context.Context, name string, patch []byte) (*meta.Bucket, error) {
	var b meta.Bucket
	return &b, c.ep.call(ctx, http.MethodPatch, bucketPath(name)+"/props", nil, patch, &b)
}

// DestroyBucket removes a bucket and, on every target, its objects.
func (c *Client) DestroyBucket(ctx context.Context, name string) error {
	return c.ep.call(ctx, http.MethodDelete, bucketPath(name), nil, nil, nil)
}

func bucketPath(name string) string { return "/v1/buckets/" + url.PathEscape(name) }

// ObjectPath returns the escaped URL path of an object, "/v1/objects/{bucket}/{object}", with
// each '/'-separated component of the name escaped on its own (so '/' stays a separator and
// '%', '?', '#', spaces and the like survive the trip).
func ObjectPath(bucket, object string) string {
	var sb strings.Builder
	sb.Grow(len("/v1/objects/") + len(bucket) + len(object) + 16)
	sb.WriteString("/v1/objects/")
	sb.WriteString(url.PathEscape(bucket))
	sb.WriteByte('/')
	for i, comp := range strings.Split(object, "/") {
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(url.PathEscape(comp))
	}
	return sb.String()
}

// ReadError reads an error answer (status >= 300) into an *Error, whose Unwrap gives the domain
// sentinel of its code. It reads at most 64 KiB of the body and does not close it.
func ReadError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return decodeError(resp, raw)
}

// errBodyConsumed says a retry is impossible because the PUT body was partly sent and cannot
// be rewound.
var errBodyConsumed = errors.New("the request body was already sent and is not an io.Seeker")

// isRetry reports whether an object request may be sent again through the gateway: the epoch
// moved on (421), something was briefly unavailable (503, 502, 504), or a node was unreachable.
func isRetry(err error) bool {
	var ce *connError
	if errors.As(err, &ce) {
		return true
	}
	var we *Error
	if errors.As(err, &we) {
		switch we.Status {
		case http.StatusMisdirectedRequest, http.StatusServiceUnavailable,
			http.StatusBadGateway, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

func (c *Client) maxAttempts() int {
	if c.MaxAttempts > 0 {
		return c.MaxAttempts
	}
	return 10
}

// backoff sleeps before attempt n (n >= 1) or returns the context's error.
func backoff(ctx context.Context, n int) error {
	d := 25 * time.Millisecond << min(n, 6)
	t := time.NewTimer(min(d, time.Second))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func wrapf(op, bucket, object string, err error) error {
	return fmt.Errorf("api: %s %s/%s: %w", op, bucket, object, err)
}
