package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Listing limits of GET /v1/buckets/{bucket}.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

// ListOptions select one page of a bucket listing.
type ListOptions struct {
	Prefix     string // only names that start with it
	StartAfter string // only names after it (byte order)
	Limit      int    // page size; 0 means DefaultListLimit, at most MaxListLimit
	Token      string // NextToken of the previous page
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Prefix != "" {
		q.Set("prefix", o.Prefix)
	}
	if o.StartAfter != "" {
		q.Set("start_after", o.StartAfter)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Token != "" {
		q.Set("token", o.Token)
	}
	return q
}

// ListObjects returns one page of a bucket's objects in name order. Pass the page's NextToken
// as opts.Token for the next one; an empty NextToken means the listing is complete.
func (c *Client) ListObjects(ctx context.Context, bucket string, opts ListOptions) (*ObjectList, error) {
	var ol ObjectList
	if err := c.ep.call(ctx, http.MethodGet, bucketPath(bucket), opts.query(), nil, &ol); err != nil {
		return nil, err
	}
	return &ol, nil
}

// ListAllObjects pages through a whole listing (from opts.Token, if set) and returns every
// entry.
func (c *Client) ListAllObjects(ctx context.Context, bucket string, opts ListOptions) ([]ObjectEntry, error) {
	var all []ObjectEntry
	for {
		page, err := c.ListObjects(ctx, bucket, opts)
		if err != nil {
			return all, err
		}
		all = append(all, page.Entries...)
		if page.NextToken == "" {
			return all, nil
		}
		opts.Token = page.NextToken
	}
}
