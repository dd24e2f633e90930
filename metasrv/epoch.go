package metasrv

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// DefaultEpochWait is the long-poll wait when ?after is given without ?wait.
const DefaultEpochWait = 20 * time.Second

// readable serves a read from this member's published snapshot, or, with
// ?linearizable=true, from the leader's after a Raft barrier (so it reflects every write
// acknowledged before the read began).
func (s *Server) readable(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lin := c.QueryParam("linearizable")
		if lin == "" {
			return h(c)
		}
		on, err := strconv.ParseBool(lin)
		if err != nil {
			return fmt.Errorf("%w: linearizable=%q: want true or false", meta.ErrInvalidRequest, lin)
		}
		if !on {
			return h(c)
		}
		return s.onLeader(func(c echo.Context) error {
			if err := s.barrier(); err != nil {
				return err
			}
			return h(c)
		})(c)
	}
}

// GET /v1/meta/epoch[?after=N[&wait=20s]][&linearizable=true]: the full snapshot (signing key
// included). Without after: this member's snapshot at once. With after: once the epoch is
// above N, or 304 after wait. linearizable=true: answered by the leader after a Raft barrier.
func (s *Server) watchEpoch(c echo.Context) error {
	afterStr := c.QueryParam("after")
	if afterStr == "" {
		v := s.view()
		return reply(c, v.Epoch, v)
	}
	after, err := strconv.ParseUint(afterStr, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: after=%q: want an epoch number", meta.ErrInvalidRequest, afterStr)
	}
	wait := DefaultEpochWait
	if ws := c.QueryParam("wait"); ws != "" {
		if wait, err = time.ParseDuration(ws); err != nil || wait < 0 {
			return fmt.Errorf("%w: wait=%q: want a duration such as 20s", meta.ErrInvalidRequest, ws)
		}
	}
	wait = min(wait, s.cfg.MaxWait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed, v := s.fsm.pub.watch()
		if v.Epoch > after {
			return reply(c, v.Epoch, v)
		}
		select {
		case <-changed:
			continue
		case <-timer.C:
		case <-s.closing:
		case <-c.Request().Context().Done():
		}
		c.Response().Header().Set(api.HeaderEpoch, strconv.FormatUint(s.view().Epoch, 10))
		return c.NoContent(http.StatusNotModified)
	}
}
