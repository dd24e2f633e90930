package metasrv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// router builds the HTTP API (docs/meta.md).
func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.httpError
	e.Use(s.recoverer)
	s.installTelemetry(e) // metrics.go: /metrics, pprof

	e.GET("/v1/health", s.health)
	e.GET("/v1/cluster", s.cluster)

	e.GET("/v1/buckets", s.readable(s.listBuckets))
	e.PUT("/v1/buckets/:bucket", s.onLeader(s.createBucket))
	e.GET("/v1/buckets/:bucket/props", s.readable(s.bucketProps))
	e.PATCH("/v1/buckets/:bucket/props", s.onLeader(s.patchBucket))
	e.DELETE("/v1/buckets/:bucket", s.onLeader(s.destroyBucket))

	e.POST("/v1/meta/join", s.onLeader(s.join))
	e.POST("/v1/meta/heartbeat", s.onLeader(s.heartbeat))
	e.GET("/v1/meta/epoch", s.readable(s.watchEpoch))
	e.POST("/v1/meta/nodes/:id/state", s.onLeader(s.setNodeState))
	e.DELETE("/v1/meta/nodes/:id", s.onLeader(s.removeNode))
	e.GET("/v1/meta/config", s.config)
	e.GET("/v1/meta/backup", s.onLeader(s.backup)) // backup.go
	e.PATCH("/v1/meta/config", s.onLeader(s.patchConfig))

	e.POST("/v1/meta/leases", s.onLeader(s.grantLease))
	e.POST("/v1/meta/leases/:job/renew", s.onLeader(s.renewLease))
	e.DELETE("/v1/meta/leases/:job", s.onLeader(s.releaseLease))

	e.GET("/v1/meta/users", s.readable(s.listUsers))
	e.POST("/v1/meta/users", s.onLeader(s.createUser))
	e.DELETE("/v1/meta/users/:name", s.onLeader(s.deleteUser))
	e.GET("/v1/meta/keys", s.readable(s.listKeys))
	e.POST("/v1/meta/keys", s.onLeader(s.createKey))
	e.DELETE("/v1/meta/keys/:id", s.onLeader(s.deleteKey))
	return e
}

// httpError is the one error handler: echo's own errors become api's edge errors, and
// everything goes out through api.WriteError.
func (s *Server) httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			err = fmt.Errorf("%s %s: %w", c.Request().Method, c.Request().URL.Path, api.ErrRouteNotFound)
		case http.StatusMethodNotAllowed:
			err = fmt.Errorf("%s %s: %w", c.Request().Method, c.Request().URL.Path, api.ErrMethodNotAllowed)
		case http.StatusRequestEntityTooLarge:
			err = api.ErrEntityTooLarge
		default:
			if he.Code < 500 {
				err = fmt.Errorf("%v: %w", he.Message, meta.ErrInvalidRequest)
			}
		}
	}
	if st := api.StatusOf(err); st >= 500 && st != http.StatusServiceUnavailable {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	api.WriteError(c.Response(), c.Request(), err)
}

// recoverer turns a handler panic into a 500 answer and a logged stack.
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panicked", "path", c.Request().URL.Path, "panic", p, "stack", string(debug.Stack()))
				err = fmt.Errorf("metasrv: %s %s: internal error", c.Request().Method, c.Request().URL.Path)
			}
		}()
		return next(c)
	}
}

// param returns a path parameter, unescaped.
func param(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", fmt.Errorf("%w: path parameter %s: %v", meta.ErrInvalidRequest, name, err)
	}
	return v, nil
}

// readBody reads the request body up to the configured limit.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("limit %d bytes: %w", mbe.Limit, api.ErrEntityTooLarge)
		}
		return nil, fmt.Errorf("%w: read body: %v", meta.ErrInvalidRequest, err)
	}
	return body, nil
}

// mergeDoc reads an optional JSON merge document: empty, or a JSON object.
func (s *Server) mergeDoc(c echo.Context) ([]byte, error) {
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil
	}
	if !json.Valid(body) || body[0] != '{' {
		return nil, fmt.Errorf("%w: body is not a JSON object (malformed JSON)", meta.ErrInvalidRequest)
	}
	return body, nil
}

// decode reads a required JSON body into v; unknown fields are an error.
func (s *Server) decode(c echo.Context, v any) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("%w: a JSON body is required", meta.ErrInvalidRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: malformed JSON: %s", meta.ErrInvalidRequest, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return fmt.Errorf("%w: malformed JSON: data after the object", meta.ErrInvalidRequest)
	}
	return nil
}

// reply answers 200 with v as JSON and the epoch in Ais-Epoch.
func reply(c echo.Context, epoch uint64, v any) error {
	c.Response().Header().Set(api.HeaderEpoch, strconv.FormatUint(epoch, 10))
	return c.JSON(http.StatusOK, v)
}
