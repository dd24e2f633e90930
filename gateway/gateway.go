package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Gateway is one ais-gw process: a stateless front door that follows epochs from meta.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	mc       *api.MetaClient
	follower *api.Follower
	hc       *http.Client // to the targets' control endpoints
	proxy    *httputil.ReverseProxy
	raw      *rawConns // proxy mode's GETs (proxy_get.go)
	handoff  *handoffs // the same for targets on this machine (handoff.go); nil if off
	handler  http.Handler
	signer   atomic.Pointer[keyedSigner]
	tel      *telemetryState // metrics.go
	draining atomic.Bool     // drain.go
	// keyRefresh is when an unknown S3 access key last made the gateway ask meta (s3.go).
	keyRefresh atomic.Int64
}

// keyedSigner is the signer of one signing key, kept until the cluster's key changes.
type keyedSigner struct {
	key string
	s   *api.Signer
}

// New returns a gateway; Run starts it. log may be nil.
func New(cfg Config, log *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = api.NewHTTPClient()
	}
	mc, err := api.NewMetaClient(cfg.MetaURLs, hc)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g := &Gateway{
		cfg:      cfg,
		log:      log.With("component", "gateway", "node", cfg.ID),
		mc:       mc,
		follower: api.NewFollower(mc, log.With("component", "follower", "node", cfg.ID)),
		hc:       hc,
	}
	g.proxy = g.newProxy()
	g.raw = newRawConns(api.TCPCongestion(cfg.ClusterTCPCongestion, g.warnCongestion))
	if cfg.Handoff {
		g.handoff = newHandoffs(g.log)
	}
	g.handler = g.routes()
	return g, nil
}

// Handler returns the gateway's HTTP handler (the public API).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Run listens, joins meta as a gateway (retrying until meta answers), heartbeats, follows
// epochs and serves until ctx ends; then it shuts the server down gracefully.
func (g *Gateway) Run(ctx context.Context) error {
	ctx, stopDrain := g.drainFirst(ctx) // drain.go: drain before the server stops
	defer stopDrain()
	ln, err := g.listen(ctx)
	if err != nil {
		return err
	}
	public := g.cfg.PublicURL
	if public == "" {
		public = "http://" + ln.Addr().String()
	}
	node := meta.Node{ID: g.cfg.ID, Role: meta.RoleGateway, PublicURL: public}
	srv := &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	g.log.Info("serving", "listen", ln.Addr().String(), "public_url", public, "proxy", g.cfg.Proxy)

	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("gateway: serve: %w", err)
		}
		return nil
	})
	eg.Go(func() error {
		<-ectx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			g.log.Warn("graceful shutdown cut short", "err", err)
			srv.Close()
		}
		return nil
	})
	eg.Go(func() error {
		g.follower.Run(ectx)
		return nil
	})
	eg.Go(func() error { return g.membership(ectx, node) })
	eg.Go(func() error { return g.serveControl(ectx) })
	err = eg.Wait()
	g.raw.close()
	if g.handoff != nil {
		g.handoff.pool.close()
	}
	g.log.Info("stopped")
	return err
}

// view returns the current epoch's view, waiting (bounded) for the first one.
func (g *Gateway) view(ctx context.Context) (*api.View, error) {
	if v := g.follower.Current(); v != nil {
		return v, nil
	}
	wctx, cancel := context.WithTimeout(ctx, min(g.cfg.EpochWait, 3*time.Second))
	defer cancel()
	v, err := g.follower.WaitEpoch(wctx, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: gateway %s has no epoch from meta yet", meta.ErrUnavailable, g.cfg.ID)
	}
	return v, nil
}

// awaitEpoch waits (bounded) until this gateway holds epoch, so that what a client just changed
// through it is visible to the client's next request. Not reaching it is logged, not failed:
// the change itself is committed.
func (g *Gateway) awaitEpoch(ctx context.Context, epoch uint64) {
	if epoch == 0 {
		g.follower.Refresh()
		return
	}
	wctx, cancel := context.WithTimeout(ctx, g.cfg.EpochWait)
	defer cancel()
	if _, err := g.follower.WaitEpoch(wctx, epoch); err != nil {
		g.log.Warn("epoch not reached in time", "epoch", epoch, "have", g.follower.Epoch(), "err", err)
	}
}

// signerOf returns the signer of the view's signing key.
func (g *Gateway) signerOf(v *api.View) (*api.Signer, error) {
	key := v.Snap.Config.SigningKey
	if ks := g.signer.Load(); ks != nil && ks.key == key {
		return ks.s, nil
	}
	if key == "" {
		return nil, fmt.Errorf("%w: the cluster has no signing key yet (epoch %d)", meta.ErrUnavailable, v.Snap.Epoch)
	}
	s, err := api.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("gateway: signing key of epoch %d: %w", v.Snap.Epoch, err)
	}
	g.signer.Store(&keyedSigner{key: key, s: s})
	return s, nil
}

// warnCongestion reports, once per pool of connections, that the cluster's TCP congestion
// control could not be set (api.TCPCongestion).
func (g *Gateway) warnCongestion(err error) {
	g.log.Warn("connections to targets keep the system's congestion control", "flag", "--cluster-tcp-congestion", "err", err)
}

// listen returns Config.Listener, or binds Config.Listen with the public TCP congestion
// control (Config.PublicTCPCongestion).
func (g *Gateway) listen(ctx context.Context) (net.Listener, error) {
	if g.cfg.Listener != nil {
		return g.cfg.Listener, nil
	}
	lc := net.ListenConfig{Control: api.TCPCongestion(g.cfg.PublicTCPCongestion, g.warnPublicCongestion)}
	ln, err := lc.Listen(ctx, "tcp", g.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen: %w", err)
	}
	return ln, nil
}

// warnPublicCongestion reports, once, that the public listener's TCP congestion control could
// not be set (api.TCPCongestion).
func (g *Gateway) warnPublicCongestion(err error) {
	g.log.Warn("client connections keep the system's congestion control", "flag", "--public-tcp-congestion", "err", err)
}
