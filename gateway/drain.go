package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/meta"
)

// drainFirst returns the context Run serves under: when ctx ends, the gateway first drains for
// Config.DrainWait (its /v1/health answers 503 so that load balancers take it out, and answers
// carry "Connection: close" so keep-alive clients reconnect elsewhere), then the returned
// context ends and Run shuts the server down gracefully (in-flight requests finish). stop ends
// the helper and waits for it.
func (g *Gateway) drainFirst(ctx context.Context) (serve context.Context, stop func()) {
	serve, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		select {
		case <-ctx.Done():
		case <-serve.Done():
			return
		}
		g.draining.Store(true)
		if g.cfg.DrainWait <= 0 {
			return
		}
		g.log.Info("draining", "for", g.cfg.DrainWait)
		t := time.NewTimer(g.cfg.DrainWait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-serve.Done():
		}
	}()
	return serve, func() { cancel(); <-done }
}

// drainGate answers health checks 503 while the gateway drains and asks every client to close
// its connection after the answer.
func (g *Gateway) drainGate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !g.draining.Load() {
			return next(c)
		}
		c.Response().Header().Set("Connection", "close")
		if c.Path() == "/v1/health" {
			return fmt.Errorf("%w: gateway %s is draining before it stops", meta.ErrUnavailable, g.cfg.ID)
		}
		return next(c)
	}
}
