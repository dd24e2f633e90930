package target

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// newEcho returns an echo instance whose only way of writing an error is api.WriteError.
func newEcho(log *slog.Logger, listener string) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
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
			log.Warn("request failed after the answer began", "listener", listener,
				"method", r.Method, "path", r.URL.Path, "err", err)
			return
		}
		if status := api.StatusOf(err); status >= 500 {
			log.Warn("request failed", "listener", listener, "method", r.Method, "path", r.URL.Path,
				"request_id", r.Header.Get(api.HeaderRequestID),
				"status", status, "err", err)
		} else {
			log.Debug("request refused", "listener", listener, "method", r.Method, "path", r.URL.Path,
				"request_id", r.Header.Get(api.HeaderRequestID),
				"status", status, "err", err)
		}
		api.WriteError(c.Response(), r, err)
	}
	return e
}

// health answers GET /v1/health on every listener.
func (s *Server) health(c echo.Context) error {
	return c.JSON(http.StatusOK, api.Health{Status: "ok", Node: s.id, Role: string(meta.RoleTarget),
		Epoch: s.follower.Epoch()})
}
