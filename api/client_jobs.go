package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// ListJobs lists the cluster's jobs of kind ("" for all), newest first.
func (c *Client) ListJobs(ctx context.Context, kind string) ([]Job, error) {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", kind)
	}
	var jl JobList
	if err := c.ep.call(ctx, http.MethodGet, "/v1/jobs", q, nil, &jl); err != nil {
		return nil, err
	}
	return jl.Jobs, nil
}

// Job returns one job with each target's part. An unknown ID is meta.ErrJobNotFound.
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.ep.call(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), nil, nil, &j)
}

// AbortJob stops a job on every target and returns it as stopped.
func (c *Client) AbortJob(ctx context.Context, id string) (*Job, error) {
	var j Job
	return &j, c.ep.call(ctx, http.MethodDelete, "/v1/jobs/"+url.PathEscape(id), nil, nil, &j)
}

// StartJob starts a job of a startable kind (meta.JobRebalance; meta.JobResilver with
// req.Node) and returns it; the gateway chooses its ID.
func (c *Client) StartJob(ctx context.Context, req JobRequest) (*Job, error) {
	var j Job
	return &j, c.ep.call(ctx, http.MethodPost, "/v1/jobs", nil, req, &j)
}

// WaitJob polls a job every poll (0: 500 ms) until it has ended on every target that runs it
// and every target answered, or ctx ends; it returns the job as last seen.
func (c *Client) WaitJob(ctx context.Context, id string, poll time.Duration) (*Job, error) {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	for {
		j, err := c.Job(ctx, id)
		if err == nil && j.State.Done() && len(j.Unreachable) == 0 {
			return j, nil
		}
		if err != nil && (ctx.Err() != nil || errors.Is(err, meta.ErrJobNotFound)) {
			return j, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, ctx.Err()
		case <-t.C:
		}
	}
}

// Mountpath attaches, detaches, enables or disables a mountpath of a target; the target starts
// a resilver if objects must move (MountpathResponse.Job).
func (c *Client) Mountpath(ctx context.Context, node string, req MountpathRequest) (*MountpathResponse, error) {
	var mr MountpathResponse
	return &mr, c.ep.call(ctx, http.MethodPost, "/v1/cluster/nodes/"+url.PathEscape(node)+"/mountpaths", nil, req, &mr)
}

// Rebalance returns every target's part in the rebalance towards the current placement.
func (c *Client) Rebalance(ctx context.Context) (*RebalanceInfo, error) {
	var ri RebalanceInfo
	return &ri, c.ep.call(ctx, http.MethodGet, "/v1/cluster/rebalance", nil, nil, &ri)
}
