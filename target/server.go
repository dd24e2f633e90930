package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// Server is one target: its store, its three listeners, and its membership in the cluster.
type Server struct {
	cfg      Config
	log      *slog.Logger
	id       string
	clock    Clock
	store    *Store
	mc       *api.MetaClient
	follower *api.Follower

	public, control, data *echo.Echo

	signer    atomic.Pointer[signerEntry]
	trashKick chan struct{}

	ready chan struct{} // closed once Run has bound the listeners
	node  meta.Node     // what Run registers; set before ready is closed

	tel  *telemetryState // metrics, request IDs, pprof (metrics.go)
	back chan struct{}   // closed once a target that left for maintenance is active again (drain.go)

	adoptions flights // multipart uploads being fetched from their old holder (mpu_move.go)

	// Jobs, rebalance and decommission (rebalance_wiring.go).
	jobs      *jobs.Registry
	reb       *rebalancer
	leaving   atomic.Bool // removing itself from the cluster map: never join again
	left      chan struct{}
	leaveOnce sync.Once

	mirror   *mirrorState     // mirroring, restore on read, scrub (mirror_jobs.go)
	mphealth *mountpathHealth // finds failed disks (mountpath_health.go)
	ec       ecState          // erasure coding (ec_*.go)
}

type signerEntry struct {
	key    string
	signer *api.Signer
}

// New opens the store on the configured mountpaths (removing interrupted writes), settles the
// node ID and builds the HTTP handlers. It starts nothing; Run does.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	def := DefaultConfig()
	if cfg.Clock == nil {
		cfg.Clock = def.Clock
	}
	if cfg.FS == nil {
		cfg.FS = def.FS
	}
	if cfg.MountpathBandwidth > 0 {
		cfg.FS = NewThrottledFS(cfg.FS, cfg.Mountpaths, cfg.MountpathBandwidth, cfg.Clock)
	}
	if cfg.MultipartExpiry == 0 {
		cfg.MultipartExpiry = def.MultipartExpiry
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "target")
	watch := &faultWatchFS{FS: cfg.FS} // disk_fault.go: I/O errors make a mountpath suspect
	store, err := OpenStore(watch, cfg.Mountpaths, cfg.Clock.Now, log)
	if err != nil {
		return nil, err
	}
	id, err := resolveNodeID(cfg.FS, store.Mountpaths(), cfg.ID) // not on a disabled (failed) disk
	if err != nil {
		return nil, err
	}
	log = log.With("node", id)
	store.log = log
	mc, err := api.NewMetaClient(cfg.MetaURLs, cfg.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	s := &Server{cfg: cfg, log: log, id: id, clock: cfg.Clock, store: store, mc: mc,
		follower: api.NewFollower(mc, log), trashKick: make(chan struct{}, 1), ready: make(chan struct{})}
	s.follower.OnNewEpoch(s.onNewEpoch)
	s.mphealth = newMountpathHealth(s, cfg.MountpathProbe)
	watch.report = s.mphealth.suspect

	s.public = newEcho(log, "public")
	s.public.GET("/v1/health", s.health)
	for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodHead, http.MethodDelete} {
		s.public.Add(m, "/v1/objects/:bucket/*", s.object)
	}
	s.public.Add(http.MethodPost, "/v1/objects/:bucket/*", s.s3Post) // S3 multipart (mpu_http.go)
	s.control = newEcho(log, "control")
	s.control.GET("/v1/health", s.health)
	s.control.GET("/v1/internal/objects/:bucket", s.listObjects)
	s.control.GET("/v1/internal/uploads/:bucket", s.listUploads)
	s.data = newEcho(log, "data")
	s.data.GET("/v1/health", s.health)
	// Gateways in proxy mode send object requests here, not to the public listener: the data
	// listener's connections use the cluster's congestion control (Config.ClusterTCPCongestion).
	for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodHead, http.MethodDelete} {
		s.data.Add(m, "/v1/objects/:bucket/*", s.object)
	}
	s.data.Add(http.MethodPost, "/v1/objects/:bucket/*", s.s3Post)
	s.uploadRoutes() // mpu_move.go
	s.back = make(chan struct{})
	s.installTelemetry()
	s.initJobs()
	s.initEC() // ec_jobs.go
	return s, nil
}

// Ready is closed once Run has bound the listeners; Node is valid from then on.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Node is the cluster-map entry the target registers, with the addresses actually bound.
func (s *Server) Node() meta.Node {
	<-s.ready
	return s.node.Clone()
}

// ID is the target's node ID.
func (s *Server) ID() string { return s.id }

// Store is the target's object store.
func (s *Server) Store() *Store { return s.store }

// Follower holds the target's view of the cluster; tests install snapshots with Store.
func (s *Server) Follower() *api.Follower { return s.follower }

// PublicHandler, ControlHandler and DataHandler serve the three listeners.
func (s *Server) PublicHandler() http.Handler  { return s.public }
func (s *Server) ControlHandler() http.Handler { return s.control }
func (s *Server) DataHandler() http.Handler    { return s.data }

// onNewEpoch runs in the follower's goroutine after each new epoch: buckets that are gone (or
// were recreated) lose their directories.
func (s *Server) onNewEpoch(_, cur *api.View) {
	n, err := s.store.SyncBuckets(cur.Snap)
	if err != nil {
		s.log.Warn("destroying directories of removed buckets", "epoch", cur.Snap.Epoch, "err", err)
	}
	if n > 0 {
		select {
		case s.trashKick <- struct{}{}:
		default:
		}
	}
}

// Run binds the listeners, joins the cluster, heartbeats and follows epochs until ctx ends,
// then shuts the listeners down gracefully. It returns nil after a clean stop.
func (s *Server) Run(ctx context.Context) error {
	ctx, stopDrain := s.drainFirst(ctx) // drain.go: drain before the listeners stop
	defer stopDrain()
	type lis struct {
		name string
		l    net.Listener
		h    http.Handler
	}
	var ls []lis
	for _, x := range []struct {
		name, addr string
		h          http.Handler
	}{{"public", s.cfg.PublicAddr, s.public}, {"control", s.cfg.ControlAddr, s.control}, {"data", s.cfg.DataAddr, s.data}} {
		lc := s.listenConfig(x.name)
		l, err := lc.Listen(ctx, "tcp", x.addr)
		if err != nil {
			for _, o := range ls {
				o.l.Close()
			}
			return fmt.Errorf("target: listen %s %s: %w", x.name, x.addr, err)
		}
		ls = append(ls, lis{x.name, l, x.h})
	}
	node := meta.Node{ID: s.id, Role: meta.RoleTarget,
		PublicURL:  "http://" + advertise(s.cfg.PublicAddr, ls[0].l.Addr()),
		ControlURL: "http://" + advertise(s.cfg.ControlAddr, ls[1].l.Addr()),
		DataURL:    "http://" + advertise(s.cfg.DataAddr, ls[2].l.Addr()),
		Mountpaths: s.store.Mountpaths()}
	var handoff *handoffServer // handoff.go
	if s.cfg.Handoff {
		if handoff = s.listenHandoff(advertise(s.cfg.DataAddr, ls[2].l.Addr())); handoff != nil {
			node.BootID, node.Handoff = api.BootID(), handoff.name
		}
	}
	s.node = node
	close(s.ready)
	s.log.Info("target starting", "public", node.PublicURL, "control", node.ControlURL,
		"data", node.DataURL, "mountpaths", node.Mountpaths)

	g, gctx := errgroup.WithContext(ctx)
	for _, x := range ls {
		srv := &http.Server{Handler: x.h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
		g.Go(func() error {
			if err := srv.Serve(x.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("target: %s listener: %w", x.name, err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
			return nil
		})
	}
	if handoff != nil {
		g.Go(func() error { return handoff.serve(gctx) })
	}
	g.Go(func() error { s.follower.Run(gctx); return nil })
	g.Go(func() error { s.membership(gctx, node); return nil })
	g.Go(func() error { s.janitor(gctx); return nil })
	g.Go(func() error { s.mphealth.run(gctx); return nil })
	s.runJobs(gctx, g) // rebalance_wiring.go
	g.Go(func() error { s.uploadJanitor(gctx); return nil })
	err := g.Wait()
	if errors.Is(err, errLeft) {
		err = nil
	}
	s.log.Info("target stopped")
	return err
}

// advertise is the HOST:PORT others reach a listener at: the configured host (this machine's
// host name if it was empty or unspecified) with the port actually bound.
func advertise(configured string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(configured)
	_, port, _ := net.SplitHostPort(bound.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if h, err := os.Hostname(); err == nil {
			host = h
		} else {
			host = "localhost"
		}
	}
	return net.JoinHostPort(host, port)
}

// membership joins the cluster (retrying until meta answers) and heartbeats every
// config.heartbeat_interval; a heartbeat answered NodeNotFound joins again.
func (s *Server) membership(ctx context.Context, node meta.Node) {
	join := func() {
		backoff := 200 * time.Millisecond
		for {
			node.Capacity, node.Used = s.usage()
			sent := s.clock.Now()
			jr, err := s.mc.Join(ctx, node)
			if err == nil {
				s.metaContacted(sent, jr.Epoch) // rebalance_fresh.go
				s.log.Info("joined the cluster", "epoch", jr.Epoch)
				if jr.Epoch > s.follower.Epoch() {
					s.follower.Refresh()
				}
				return
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("join failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
	join()
	for {
		interval := s.cfg.HeartbeatInterval
		if v := s.follower.Current(); v != nil && v.Snap.Config.HeartbeatInterval > 0 {
			interval = v.Snap.Config.HeartbeatInterval.D()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(interval):
		}
		hb := api.Heartbeat{ID: s.id}
		hb.Capacity, hb.Used = s.usage()
		hctx, cancel := context.WithTimeout(ctx, max(2*interval, 5*time.Second))
		sent := s.clock.Now()
		hr, err := s.mc.Heartbeat(hctx, hb)
		cancel()
		if err == nil {
			s.metaContacted(sent, hr.Epoch) // rebalance_fresh.go
		}
		switch {
		case errors.Is(err, meta.ErrNodeNotFound):
			s.log.Warn("meta does not know this target; joining again")
			join()
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("heartbeat failed", "err", err)
			}
		case hr.Epoch > s.follower.Epoch():
			s.follower.Refresh()
		}
	}
}

// usage sums the capacity and use of the mountpaths' file systems.
func (s *Server) usage() (capacity, used uint64) {
	for _, mp := range s.store.Mountpaths() {
		if c, u, err := diskUsage(mp); err == nil {
			capacity += c
			used += u
		}
	}
	return capacity, used
}

// janitor deletes trashed bucket directories in the background: at start (what a previous run
// left) and whenever a new epoch trashes more.
func (s *Server) janitor(ctx context.Context) {
	for {
		if err := s.store.EmptyTrash(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("emptying the trash", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.trashKick:
		}
	}
}

// warnCongestion reports, once per listener or client, that the cluster's TCP congestion
// control could not be set (api.TCPCongestion).
func (s *Server) warnCongestion(err error) {
	s.log.Warn("cluster connections keep the system's congestion control", "flag", "--cluster-tcp-congestion", "err", err)
}

// listenConfig is how the listener of the given name ("public", "control", "data") binds: the
// public and data listeners set their TCP congestion control (Config.PublicTCPCongestion,
// Config.ClusterTCPCongestion), which the connections they accept inherit.
func (s *Server) listenConfig(name string) net.ListenConfig {
	switch name {
	case "public":
		return net.ListenConfig{Control: api.TCPCongestion(s.cfg.PublicTCPCongestion, s.warnPublicCongestion)}
	case "data":
		return net.ListenConfig{Control: api.TCPCongestion(s.cfg.ClusterTCPCongestion, s.warnCongestion)}
	}
	return net.ListenConfig{}
}

// warnPublicCongestion reports, once, that the public listener's TCP congestion control
// could not be set (api.TCPCongestion).
func (s *Server) warnPublicCongestion(err error) {
	s.log.Warn("client connections keep the system's congestion control", "flag", "--public-tcp-congestion", "err", err)
}
