package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// listRequest is a parsed GET /v1/buckets/{bucket}?prefix=&start_after=&limit=&token=.
type listRequest struct {
	Prefix string
	Start  string // names after this one: the later of start_after and the token's name
	Limit  int
}

func parseListRequest(q url.Values) (listRequest, error) {
	lr := listRequest{Prefix: q.Get("prefix"), Start: q.Get("start_after"), Limit: api.DefaultListLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return lr, fmt.Errorf("%w: limit %q must be a whole number from 0 (default %d) to %d",
				meta.ErrInvalidRequest, s, api.DefaultListLimit, api.MaxListLimit)
		}
		if n > 0 {
			lr.Limit = min(n, api.MaxListLimit)
		}
	}
	if tok := q.Get("token"); tok != "" {
		name, err := decodeToken(tok)
		if err != nil {
			return lr, err
		}
		lr.Start = max(lr.Start, name)
	}
	return lr, nil
}

// listObjects lists one page of a bucket, merged in name order from all active targets.
func (g *Gateway) listObjects(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: query: %v", meta.ErrInvalidRequest, err)
	}
	lr, err := parseListRequest(q)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, b, err := g.lookupBucket(ctx, name)
	if err != nil {
		return err
	}
	targets := listTargets(v.Snap) // http_jobs.go: also those a rebalance drains
	if len(targets) == 0 {
		return fmt.Errorf("gateway: list %s: %w", name, meta.ErrNoTargets)
	}
	if err := listComplete(v.Snap, name); err != nil {
		return err
	}
	reqID := c.Request().Header.Get(api.HeaderRequestID)
	pages := make([]targetPage, len(targets))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(32)
	for i, t := range targets {
		eg.Go(func() error {
			ol, err := g.listTarget(ectx, t, name, lr, v.Snap.Epoch, reqID)
			if err != nil {
				return err
			}
			pages[i] = targetPage{Target: t.ID, List: ol.ObjectList, Tombs: ol.Tombstones}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	owner := func(obj string) string {
		n, _ := v.Placement.Owner(meta.ObjectKey(b.Key(), obj))
		return n.ID
	}
	entries, more := mergePages(pages, lr.Start, lr.Prefix, lr.Limit, owner)
	out := api.ObjectList{Entries: entries}
	if more && len(entries) > 0 {
		out.NextToken = encodeToken(entries[len(entries)-1].Name)
	}
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, out)
}

// listComplete refuses a listing that could not be complete: while a target is down, the
// objects it holds cannot be listed (a GET of them answers 503), and a listing that silently
// left them out would show them as absent. So the listing fails with 503 Unavailable (the
// client retries; the CLI reports it) until the target is back or removed
// (docs/rebalance.md, "Listing").
func listComplete(s *meta.Snapshot, bucket string) error {
	var down []string
	for _, n := range s.NodesByRole(meta.RoleTarget) {
		if n.State == meta.NodeDown {
			down = append(down, n.ID)
		}
	}
	if len(down) == 0 {
		return nil
	}
	return fmt.Errorf("gateway: list %s: %w: target %s is down at epoch %d; the listing would miss the objects it holds",
		bucket, meta.ErrUnavailable, strings.Join(down, ", "), s.Epoch)
}

// listTarget asks one target's control endpoint for its objects of the bucket. A target that
// does not know the bucket holds none of its objects (it has not reached the epoch that created
// it, which no PUT to it can have skipped), so its answer counts as empty.
func (g *Gateway) listTarget(ctx context.Context, t meta.Node, bucket string, lr listRequest, epoch uint64, reqID string) (*api.TargetObjectList, error) {
	u, err := internalListURL(t.ControlURL, bucket, lr)
	if err != nil {
		return nil, fmt.Errorf("gateway: list %s on target %s: %w", bucket, t.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway: list %s on target %s: %w", bucket, t.ID, err)
	}
	req.Header.Set(api.HeaderEpoch, strconv.FormatUint(epoch, 10))
	if reqID != "" {
		req.Header.Set(api.HeaderRequestID, reqID)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: gateway: list %s on target %s: %v", meta.ErrUnavailable, bucket, t.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		err := api.ReadError(resp)
		if errors.Is(err, meta.ErrBucketNotFound) {
			return &api.TargetObjectList{}, nil
		}
		return nil, fmt.Errorf("gateway: list %s on target %s: %w", bucket, t.ID, err)
	}
	var ol api.TargetObjectList
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&ol); err != nil {
		return nil, fmt.Errorf("%w: gateway: list %s on target %s: bad answer: %v", meta.ErrUnavailable, bucket, t.ID, err)
	}
	return &ol, nil
}

// internalListURL is a target's control URL for listing: /v1/internal/objects/{bucket}.
func internalListURL(control, bucket string, lr listRequest) (string, error) {
	bu, err := url.Parse(control)
	if err != nil || bu.Host == "" || (bu.Scheme != "http" && bu.Scheme != "https") {
		return "", fmt.Errorf("%w: control URL %q is not http(s)://HOST:PORT", meta.ErrUnavailable, control)
	}
	q := url.Values{"limit": {strconv.Itoa(lr.Limit)}}
	if lr.Prefix != "" {
		q.Set("prefix", lr.Prefix)
	}
	if lr.Start != "" {
		q.Set("start_after", lr.Start)
	}
	return bu.Scheme + "://" + bu.Host + "/v1/internal/objects/" + url.PathEscape(bucket) + "?" + q.Encode(), nil
}
