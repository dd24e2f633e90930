package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/telemetry"
)

// controlHandler serves the gateway's control listener (Config.ControlListen): health,
// /metrics and pprof, for operators only.
func (g *Gateway) controlHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = g.writeError
	e.Use(g.tel.http.Middleware("control"))
	e.GET("/v1/health", g.health)
	e.GET("/metrics", echo.WrapHandler(telemetry.Handler(g.tel.reg)))
	telemetry.RegisterPprof(e)
	return e
}

// serveControl serves the control listener until ctx ends; without one it returns at once.
func (g *Gateway) serveControl(ctx context.Context) error {
	if g.cfg.ControlListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", g.cfg.ControlListen)
	if err != nil {
		return fmt.Errorf("gateway: control listener: %w", err)
	}
	srv := &http.Server{Handler: g.controlHandler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelDebug)}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-cctx.Done()
		sctx, stop := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.ShutdownTimeout)
		defer stop()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
	}()
	g.log.Info("control listener", "listen", ln.Addr().String())
	err = srv.Serve(ln)
	cancel()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("gateway: control listener: %w", err)
}
