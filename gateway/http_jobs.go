package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// The jobs API (docs/api.md, docs/rebalance.md) aggregates every target's jobs:
//
//	GET    /v1/jobs?kind=K         -> api.JobList, newest first
//	GET    /v1/jobs/{id}           -> api.Job (404 JobNotFound if no target has it)
//	DELETE /v1/jobs/{id}           -> api.Job once every target has stopped it (abort)
//	POST   /v1/jobs                body api.JobRequest{kind, node} -> api.Job just started
//	POST   /v1/cluster/nodes/{id}/mountpaths  body api.MountpathRequest -> api.MountpathResponse
//	GET    /v1/cluster/rebalance   -> api.RebalanceInfo: every target's rebalance status
func (g *Gateway) jobRoutes(e *echo.Echo) {
	e.GET("/v1/jobs", g.listJobs)
	e.POST("/v1/jobs", g.startJob)
	e.GET("/v1/jobs/:id", g.showJob)
	e.DELETE("/v1/jobs/:id", g.abortJob)
	e.POST("/v1/cluster/nodes/:id/mountpaths", g.mountpath)
	e.GET("/v1/cluster/rebalance", g.rebalance)
}

// listTargets returns the targets that may hold objects and run jobs: active ones and those in
// maintenance or being decommissioned (a rebalance drains them; until it has, they hold objects
// a listing must show). Down targets cannot answer.
func listTargets(s *meta.Snapshot) []meta.Node {
	var out []meta.Node
	for _, n := range s.NodesByRole(meta.RoleTarget) {
		switch n.State {
		case meta.NodeActive, meta.NodeMaintenance, meta.NodeDecommissioning:
			out = append(out, n)
		}
	}
	return out
}

// targetCall sends one JSON request to a target's control listener.
func (g *Gateway) targetCall(ctx context.Context, t meta.Node, method, path string, q url.Values, in, out any) error {
	u := t.ControlURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: target %s: %v", meta.ErrUnavailable, t.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return api.ReadError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("%w: target %s: bad answer: %v", meta.ErrUnavailable, t.ID, err)
	}
	return nil
}

// fanOut runs fn for every target in parallel and returns the IDs of those that could not be
// reached (other errors are fn's to keep).
func (g *Gateway) fanOut(ctx context.Context, targets []meta.Node, fn func(ctx context.Context, t meta.Node) error) (unreachable []string) {
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(32)
	for _, t := range targets {
		eg.Go(func() error {
			if err := fn(ectx, t); errors.Is(err, meta.ErrUnavailable) {
				mu.Lock()
				unreachable = append(unreachable, t.ID)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = eg.Wait()
	return unreachable
}

func (g *Gateway) listJobs(c echo.Context) error {
	ctx := c.Request().Context()
	v, err := g.view(ctx)
	if err != nil {
		return err
	}
	q := url.Values{}
	if k := c.QueryParam("kind"); k != "" {
		q.Set("kind", k)
	}
	var mu sync.Mutex
	var parts []meta.JobStatus
	unreachable := g.fanOut(ctx, listTargets(v.Snap), func(ctx context.Context, t meta.Node) error {
		var nj api.NodeJobs
		if err := g.targetCall(ctx, t, http.MethodGet, "/v1/internal/jobs", q, nil, &nj); err != nil {
			return err
		}
		mu.Lock()
		parts = append(parts, nj.Jobs...)
		mu.Unlock()
		return nil
	})
	jl := api.JobList{Jobs: api.AggregateJobs(parts)}
	for i := range jl.Jobs {
		jl.Jobs[i].Unreachable = unreachable
	}
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, jl)
}

// oneJob asks every target for job id (method GET: its status; DELETE: abort it).
func (g *Gateway) oneJob(c echo.Context, method string) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if id == "" || len(id) > 256 {
		return fmt.Errorf("%w: job ID", meta.ErrInvalidRequest)
	}
	v, err := g.view(ctx)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var parts []meta.JobStatus
	var firstErr error
	unreachable := g.fanOut(ctx, listTargets(v.Snap), func(ctx context.Context, t meta.Node) error {
		var st meta.JobStatus
		err := g.targetCall(ctx, t, method, "/v1/internal/jobs/"+url.PathEscape(id), nil, nil, &st)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			parts = append(parts, st)
		case errors.Is(err, meta.ErrJobNotFound), meta.KindOf(err) == meta.KindNotExist:
		default:
			if firstErr == nil && !errors.Is(err, meta.ErrUnavailable) {
				firstErr = err
			}
		}
		return err
	})
	if len(parts) == 0 {
		if firstErr != nil {
			return firstErr
		}
		if len(unreachable) > 0 {
			return fmt.Errorf("gateway: job %s: %w: targets %v did not answer", id, meta.ErrUnavailable, unreachable)
		}
		return fmt.Errorf("gateway: job %s: %w", id, meta.ErrJobNotFound)
	}
	j := api.AggregateJobs(parts)[0]
	j.Unreachable = unreachable
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, j)
}

func (g *Gateway) showJob(c echo.Context) error  { return g.oneJob(c, http.MethodGet) }
func (g *Gateway) abortJob(c echo.Context) error { return g.oneJob(c, http.MethodDelete) }

func (g *Gateway) startJob(c echo.Context) error {
	ctx := c.Request().Context()
	doc, err := readDoc(c.Request(), g.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	var req api.JobRequest
	if err := json.Unmarshal(doc, &req); err != nil || req.Kind == "" {
		return fmt.Errorf("%w: a job request is {\"kind\": K, \"node\": ID (optional)}", meta.ErrInvalidRequest)
	}
	v, err := g.view(ctx)
	if err != nil {
		return err
	}
	targets := listTargets(v.Snap)
	if req.Node != "" {
		n, ok := v.Snap.Nodes[req.Node]
		if !ok || n.Role != meta.RoleTarget {
			return fmt.Errorf("gateway: start %s on %s: %w", req.Kind, req.Node, meta.ErrNodeNotFound)
		}
		targets = []meta.Node{n}
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	req.ID = fmt.Sprintf("%s-%d-%s", req.Kind, v.Snap.Epoch, hex.EncodeToString(rnd[:]))
	var mu sync.Mutex
	var parts []meta.JobStatus
	var firstErr error
	unreachable := g.fanOut(ctx, targets, func(ctx context.Context, t meta.Node) error {
		var st meta.JobStatus
		err := g.targetCall(ctx, t, http.MethodPost, "/v1/internal/jobs", nil, req, &st)
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			parts = append(parts, st)
		} else if firstErr == nil {
			firstErr = err
		}
		return err
	})
	if len(parts) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("%w: no target", meta.ErrNoTargets)
		}
		return firstErr
	}
	j := api.AggregateJobs(parts)[0]
	j.Unreachable = unreachable
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, j)
}

// mountpath forwards a mountpath change (attach, detach, enable, disable) to the target.
func (g *Gateway) mountpath(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := meta.ValidateNodeID(id); err != nil {
		return err
	}
	doc, err := readDoc(c.Request(), g.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	var req api.MountpathRequest
	if err := json.Unmarshal(doc, &req); err != nil {
		return fmt.Errorf("%w: mountpath request: %v", meta.ErrInvalidRequest, err)
	}
	v, err := g.view(ctx)
	if err != nil {
		return err
	}
	n, ok := v.Snap.Nodes[id]
	if !ok || n.Role != meta.RoleTarget {
		return fmt.Errorf("gateway: mountpath on %s: %w", id, meta.ErrNodeNotFound)
	}
	var out api.MountpathResponse
	if err := g.targetCall(ctx, n, http.MethodPost, "/v1/internal/mountpaths", nil, req, &out); err != nil {
		return err
	}
	g.follower.Refresh()
	return c.JSON(http.StatusOK, out)
}

// rebalance answers GET /v1/cluster/rebalance: every target's part in the rebalance towards the
// placement of its view; done once all are finished with the same placement.
func (g *Gateway) rebalance(c echo.Context) error {
	ctx := c.Request().Context()
	v, err := g.view(ctx)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	info := api.RebalanceInfo{Epoch: v.Snap.Epoch}
	info.Unreachable = g.fanOut(ctx, listTargets(v.Snap), func(ctx context.Context, t meta.Node) error {
		var st api.RebalanceStatus
		if err := g.targetCall(ctx, t, http.MethodGet, "/v1/internal/rebalance", nil, nil, &st); err != nil {
			if !errors.Is(err, meta.ErrUnavailable) {
				err = fmt.Errorf("%w: %v", meta.ErrUnavailable, err)
			}
			return err
		}
		mu.Lock()
		info.Targets = append(info.Targets, st)
		mu.Unlock()
		return nil
	})
	sort.Slice(info.Targets, func(a, b int) bool { return info.Targets[a].Node < info.Targets[b].Node })
	info.Done = len(info.Unreachable) == 0 && len(info.Targets) > 0
	for _, st := range info.Targets {
		if st.Running || st.Done != st.Placement || st.Placement != info.Targets[0].Placement {
			info.Done = false
		}
	}
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, info)
}
