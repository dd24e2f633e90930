package api

import (
	"context"
	"net/http"
)

// BucketSummary returns a bucket's object count, logical size and bytes on disk (with mirror
// copies and EC slices), summed over the targets.
func (c *Client) BucketSummary(ctx context.Context, name string) (*BucketSummary, error) {
	var s BucketSummary
	return &s, c.ep.call(ctx, http.MethodGet, bucketPath(name)+"/summary", nil, nil, &s)
}
