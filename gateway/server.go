package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// routes builds the public API.
func (g *Gateway) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = g.writeError
	e.Pre(g.s3Entry) // the S3 API: every path outside /v1/ (s3.go)
	e.Use(requestID)
	g.installTelemetry(e) // metrics.go
	e.Use(g.drainGate)    // drain.go

	e.GET("/v1/health", g.health)
	e.GET("/v1/cluster", g.cluster)
	e.POST("/v1/cluster/nodes/:id/state", g.setNodeState)
	g.jobRoutes(e)  // http_jobs.go
	g.authRoutes(e) // auth_admin.go

	e.GET("/v1/buckets", g.listBuckets)
	e.PUT("/v1/buckets/:bucket", g.createBucket)
	e.HEAD("/v1/buckets/:bucket", g.headBucket)
	e.GET("/v1/buckets/:bucket", g.listObjects)
	e.DELETE("/v1/buckets/:bucket", g.destroyBucket)
	e.GET("/v1/buckets/:bucket/props", g.bucketProps)
	e.PATCH("/v1/buckets/:bucket/props", g.patchBucketProps)
	e.GET("/v1/buckets/:bucket/summary", g.bucketSummary) // http_summary.go

	for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodHead, http.MethodDelete} {
		e.Add(m, "/v1/objects/*", g.object)
	}
	return e
}

// writeError is the one error handler: echo's own errors become their api sentinels, and
// api.WriteError writes every error.
func (g *Gateway) writeError(err error, c echo.Context) {
	r := c.Request()
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			err = fmt.Errorf("%w: %s %s", api.ErrRouteNotFound, r.Method, r.URL.Path)
		case http.StatusMethodNotAllowed:
			err = fmt.Errorf("%w: %s %s", api.ErrMethodNotAllowed, r.Method, r.URL.Path)
		case http.StatusRequestEntityTooLarge:
			err = api.ErrEntityTooLarge
		default:
			err = fmt.Errorf("%w: %v", meta.ErrInvalidRequest, he.Message)
		}
	}
	if c.Response().Committed {
		g.log.Debug("error after the answer started", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	if status := api.StatusOf(err); status >= 500 && r.URL.Path != "/v1/health" {
		level := slog.LevelInfo // a passing condition: meta or a target briefly unavailable
		if status == http.StatusInternalServerError {
			level = slog.LevelError
		}
		g.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", status,
			"request_id", c.Response().Header().Get(api.HeaderRequestID), "err", err)
	}
	api.WriteError(c.Response(), r, err)
}

// requestID gives every request an ID (the client's own Ais-Request-Id if it is a valid one),
// in the answer and (for targets, in proxy mode) in the request's own headers.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(api.HeaderRequestID)
		if !api.ValidRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(api.HeaderRequestID, id)
		c.Request().Header.Set(api.HeaderRequestID, id)
		return next(c)
	}
}

// withRequestID adds the request's ID to a target URL's query, so that a client following the
// redirect carries it to the target.
func withRequestID(q url.Values, c echo.Context) url.Values {
	if id := c.Response().Header().Get(api.HeaderRequestID); id != "" {
		q.Set(api.QueryRequestID, id)
	}
	return q
}

// health answers 200 once the gateway holds an epoch, 503 before.
func (g *Gateway) health(c echo.Context) error {
	v := g.follower.Current()
	if v == nil {
		return fmt.Errorf("%w: gateway %s has no epoch from meta yet", meta.ErrUnavailable, g.cfg.ID)
	}
	return c.JSON(http.StatusOK, api.Health{Status: "ok", Node: g.cfg.ID, Role: string(meta.RoleGateway), Epoch: v.Snap.Epoch})
}

// cluster answers with meta's view of the cluster; when meta does not answer in time, with the
// cluster map of the gateway's own epoch (no meta members).
func (g *Gateway) cluster(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	ci, err := g.mc.Cluster(ctx)
	if err == nil {
		return c.JSON(http.StatusOK, ci)
	}
	v := g.follower.Current()
	if v == nil || c.Request().Context().Err() != nil {
		return fmt.Errorf("gateway: cluster: %w", err)
	}
	g.log.Debug("meta did not answer /v1/cluster; using the cached epoch", "err", err)
	nodes := append(v.Snap.NodesByRole(meta.RoleTarget), v.Snap.NodesByRole(meta.RoleGateway)...)
	slices.SortFunc(nodes, func(a, b meta.Node) int { return strings.Compare(a.ID, b.ID) })
	return c.JSON(http.StatusOK, &api.ClusterInfo{Epoch: v.Snap.Epoch, Nodes: nodes})
}

func setEpoch(c echo.Context, epoch uint64) {
	c.Response().Header().Set(api.HeaderEpoch, strconv.FormatUint(epoch, 10))
}
