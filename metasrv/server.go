package metasrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Server is one member of the meta quorum. Build it with New, then call Run exactly once.
type Server struct {
	cfg   Config
	log   *slog.Logger
	peers map[raft.ServerID]Peer

	store *raftboltdb.BoltStore
	raft  *raft.Raft
	fsm   *fsm
	ln    net.Listener
	hc    *http.Client

	// closing is closed when Run starts shutting down; it ends epoch long-polls.
	closing chan struct{}
	mon     *monitor
	tel     *telemetryState // metrics.go
}

// New opens (or creates) the member's state in cfg.Dir, starts its Raft instance and
// bootstraps the cluster from cfg.Peers if the directory holds no state. It listens on the
// HTTP address but serves only from Run.
func New(cfg Config, log *slog.Logger) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	self, _ := cfg.self()
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = self.RaftAddr
	}
	base := log
	log = base.With("component", "meta", "node", cfg.ID)
	s = &Server{cfg: cfg, log: log, peers: map[raft.ServerID]Peer{}, hc: api.NewHTTPClient(),
		closing: make(chan struct{}), mon: newMonitor()}
	for _, p := range cfg.Peers {
		s.peers[raft.ServerID(p.ID)] = p
	}
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("metasrv: %w", err)
	}
	s.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db"),
		BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if err != nil {
		return nil, fmt.Errorf("metasrv: open %s: %w", filepath.Join(cfg.Dir, "raft.db"), err)
	}
	cleanup = append(cleanup, func() { _ = s.store.Close() })
	rlog := newHCLogger(base.With("component", "raft", "node", cfg.ID))
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, rlog)
	if err != nil {
		return nil, fmt.Errorf("metasrv: snapshot store: %w", err)
	}
	existing, err := raft.HasExistingState(s.store, s.store, snaps)
	if err != nil {
		return nil, fmt.Errorf("metasrv: read raft state: %w", err)
	}

	trans := cfg.Transport
	if trans == nil {
		adv, err := net.ResolveTCPAddr("tcp", self.RaftAddr)
		if err != nil {
			return nil, fmt.Errorf("metasrv: raft address %s: %w", self.RaftAddr, err)
		}
		nt, err := raft.NewTCPTransportWithLogger(cfg.RaftAddr, adv, 3, 5*time.Second, rlog)
		if err != nil {
			return nil, fmt.Errorf("metasrv: raft transport: %w", err)
		}
		trans = nt
		cleanup = append(cleanup, func() { _ = nt.Close() })
	}

	s.ln = cfg.HTTPListener
	if s.ln == nil {
		addr := cfg.HTTPAddr
		if addr == "" {
			addr = hostPort(self.HTTPURL)
		}
		if s.ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("metasrv: http: %w", err)
		}
		cleanup = append(cleanup, func() { _ = s.ln.Close() })
	}

	rc := cfg.raftConfig()
	rc.Logger = rlog
	s.fsm = newFSM(log)
	s.raft, err = raft.NewRaft(rc, s.fsm, s.store, s.store, snaps, trans)
	if err != nil {
		return nil, fmt.Errorf("metasrv: start raft: %w", err)
	}
	cleanup = append(cleanup, func() { _ = s.raft.Shutdown().Error() })
	if !existing {
		var conf raft.Configuration
		for _, p := range cfg.Peers {
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter,
				ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr)})
		}
		if err := s.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("metasrv: bootstrap: %w", err)
		}
		log.Info("bootstrapped a new cluster", "peers", len(cfg.Peers))
	} else {
		log.Info("rejoining with existing state", "dir", cfg.Dir)
	}
	return s, nil
}

func hostPort(u string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(u) > len(p) && u[:len(p)] == p {
			return u[len(p):]
		}
	}
	return u
}

// Addr is the HTTP address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves HTTP and runs the leader's duties until ctx ends, then shuts down: it hands
// leadership to another member if it leads, stops serving, and closes Raft and its stores.
func (s *Server) Run(ctx context.Context) error {
	hs := &http.Server{Handler: s.router(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() {
		if err := hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	})
	lctx, stopLeadership := context.WithCancel(context.Background())
	wg.Go(func() { s.watchLeadership(lctx) })
	s.log.Info("serving", "http", s.ln.Addr().String(), "raft", s.cfg.RaftAddr)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("metasrv: http: %w", err)
	}

	if s.raft.State() == raft.Leader {
		if terr := s.raft.LeadershipTransfer().Error(); terr != nil {
			s.log.Warn("leadership transfer failed", "err", terr)
		} else {
			s.log.Info("transferred leadership")
		}
	}
	close(s.closing)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if serr := hs.Shutdown(sctx); serr != nil {
		_ = hs.Close()
	}
	cancel()
	stopLeadership()
	if rerr := s.raft.Shutdown().Error(); rerr != nil && err == nil {
		err = fmt.Errorf("metasrv: raft shutdown: %w", rerr)
	}
	wg.Wait()
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("metasrv: close store: %w", cerr)
	}
	s.log.Info("stopped")
	return err
}

// view returns the published snapshot.
func (s *Server) view() *meta.Snapshot { return s.fsm.pub.current() }

// now is the server's clock.
func (s *Server) now() time.Time { return s.cfg.Now() }
