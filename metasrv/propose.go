package metasrv

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/hashicorp/raft"
	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// headerForwarded marks a request a follower forwarded to the leader; a member that is not the
// leader answers it with 503 instead of forwarding it again.
const headerForwarded = "Ais-Meta-Forwarded-By"

// propose stamps c with the leader's clock, replicates it and returns what Apply returned.
// A Raft failure (lost leadership, shutdown) is a transient error; a business failure is
// Result.Err.
func (s *Server) propose(c raftfsm.Command) (raftfsm.Result, error) {
	c.Time = s.now().UnixNano()
	f := s.raft.Apply(raftfsm.Encode(c), s.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return raftfsm.Result{}, raftError(string(c.Op), err)
	}
	r, ok := f.Response().(raftfsm.Result)
	if !ok {
		return raftfsm.Result{}, fmt.Errorf("metasrv: %s: state machine answered %T", c.Op, f.Response())
	}
	return r, nil
}

// raftError turns a Raft error into a domain error: anything that a retry on the (new) leader
// may fix is NotLeader or Unavailable, both retriable by clients.
func raftError(op string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("metasrv: %s: %v: %w", op, err, meta.ErrNotLeader)
	}
	return fmt.Errorf("metasrv: %s: %v: %w", op, err, meta.ErrUnavailable)
}

// barrier waits until every entry committed before it is applied here; on the leader that
// makes the published snapshot current (linearizable).
func (s *Server) barrier() error {
	if err := s.raft.Barrier(s.cfg.ApplyTimeout).Error(); err != nil {
		return raftError("barrier", err)
	}
	return nil
}

// onLeader runs h on the leader. A follower forwards the request to the leader's HTTP URL; a
// member that knows no leader, or got a request already forwarded, answers 503 NotLeader
// (clients then try other members).
func (s *Server) onLeader(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.raft.State() == raft.Leader {
			return h(c)
		}
		_, id := s.raft.LeaderWithID()
		p, known := s.peers[id]
		if by := c.Request().Header.Get(headerForwarded); by != "" {
			return fmt.Errorf("metasrv: %s forwarded by %s, but %s is not the leader: %w", c.Request().URL.Path, by, s.cfg.ID, meta.ErrNotLeader)
		}
		if !known || string(id) == s.cfg.ID {
			return fmt.Errorf("metasrv: %s: no leader known: %w", c.Request().URL.Path, meta.ErrNotLeader)
		}
		s.forward(c, p)
		return nil
	}
}

// forward reverse-proxies the request to peer p.
func (s *Server) forward(c echo.Context, p Peer) {
	target, err := url.Parse(p.HTTPURL)
	if err != nil { // checked by Config.Validate
		api.WriteError(c.Response(), c.Request(), fmt.Errorf("metasrv: leader URL %q: %w", p.HTTPURL, meta.ErrUnavailable))
		return
	}
	c.Response().Header().Set(api.HeaderMetaLeader, p.HTTPURL)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(headerForwarded, s.cfg.ID)
		},
		Transport:     s.hc.Transport,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			api.WriteError(w, r, fmt.Errorf("metasrv: forward to leader %s: %v: %w", p.ID, err, meta.ErrNotLeader))
		},
	}
	start := time.Now()
	rp.ServeHTTP(c.Response(), c.Request())
	s.log.Debug("forwarded to leader", "leader", p.ID, "path", c.Request().URL.Path, "took", time.Since(start))
}
