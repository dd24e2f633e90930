package target

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// leftMarker, in every mountpath's .ais/sys/, says that the target put itself into maintenance
// when it last stopped, so that it sets itself active again when it is back. Maintenance an
// operator set is left alone.
const leftMarker = "left-on-stop"

// drainQuiet is how long no request may arrive before a draining target stops serving.
const drainQuiet = 300 * time.Millisecond

// drainFirst returns the context Run serves under. It ends only after the target has left the
// cluster in order once ctx ends: with Config.LeaveOnStop it puts itself into maintenance (so
// that gateways send new requests elsewhere), waits until no request arrived for a moment (at
// most Config.ShutdownTimeout), and only then lets Run shut the listeners down gracefully and
// stop heartbeating. At start, it sets the target active again if it had left that way.
// stop ends the helper and waits for it.
func (s *Server) drainFirst(ctx context.Context) (serve context.Context, stop func()) {
	serve, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		s.returnAfterStop(ctx)
		select {
		case <-ctx.Done():
		case <-serve.Done(): // Run returned on its own
			return
		}
		s.depart(serve)
	}()
	return serve, func() { cancel(); <-done }
}

// depart runs when the target is told to stop.
func (s *Server) depart(ctx context.Context) {
	s.tel.draining.Store(true)
	start := s.clock.Now()
	deadline := start.Add(s.cfg.ShutdownTimeout)
	if s.cfg.LeaveOnStop && s.inClusterMap() {
		s.setMarker(true)
		lctx, cancel := context.WithTimeout(ctx, min(s.cfg.ShutdownTimeout, 5*time.Second))
		err := s.mc.SetNodeState(lctx, s.id, meta.NodeMaintenance)
		cancel()
		if err != nil {
			s.log.Warn("could not tell meta that this target leaves; meta will mark it down after the node timeout", "err", err)
		} else {
			s.log.Info("left the cluster for maintenance; draining")
			s.awaitState(ctx, meta.NodeMaintenance, 2*time.Second)
		}
	}
	// Clients sent here at the earlier epoch may still arrive: serve them (or send them back
	// to a gateway) until the public listener has been quiet for a moment. Other targets
	// (rebalance, reads from a neighbour) use the data and control listeners until the end.
	for s.clock.Now().Before(deadline) {
		idle := s.tel.http.InFlight("public") == 0 && s.clock.Now().Sub(s.tel.http.LastRequest("public")) >= drainQuiet
		if idle {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(50 * time.Millisecond):
		}
	}
	s.log.Info("drained; stopping", "took", s.clock.Now().Sub(start).Round(time.Millisecond))
}

// returnAfterStop sets the target active again if it left for maintenance when it last stopped, once
// it is in the cluster map again; it retries until meta answers or ctx ends.
func (s *Server) returnAfterStop(ctx context.Context) {
	defer close(s.back)
	if !s.hasMarker() {
		return
	}
	backoff := 200 * time.Millisecond
	for {
		if v := s.follower.Current(); v != nil {
			n, ok := v.Snap.Nodes[s.id]
			switch {
			case ok && n.State != meta.NodeMaintenance:
				s.setMarker(false)
				return
			case ok:
				err := s.mc.SetNodeState(ctx, s.id, meta.NodeActive)
				if err == nil {
					s.log.Info("back from the maintenance it left for; active again")
					s.awaitState(ctx, meta.NodeActive, 5*time.Second)
					s.setMarker(false)
					return
				}
				if ctx.Err() == nil {
					s.log.Warn("could not set this target active again", "err", err, "retry_in", backoff)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// inClusterMap reports whether the epoch the target holds lists it.
func (s *Server) inClusterMap() bool {
	v := s.follower.Current()
	if v == nil {
		return false
	}
	_, ok := v.Snap.Nodes[s.id]
	return ok
}

// awaitState waits (at most d) until the target's view shows it in state st.
func (s *Server) awaitState(ctx context.Context, st meta.NodeState, d time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		v := s.follower.Current()
		if v != nil && v.Snap.Nodes[s.id].State == st {
			return
		}
		s.follower.Refresh()
		var next uint64 = 1
		if v != nil {
			next = v.Snap.Epoch + 1
		}
		if _, err := s.follower.WaitEpoch(wctx, next); err != nil {
			return
		}
	}
}

func (s *Server) hasMarker() bool {
	for _, mp := range s.store.Mountpaths() {
		if _, err := s.cfg.FS.Stat(filepath.Join(mp, sysDir, leftMarker)); err == nil {
			return true
		}
	}
	return false
}

// setMarker writes (on) or removes the marker in every mountpath.
func (s *Server) setMarker(on bool) {
	for _, mp := range s.store.Mountpaths() {
		p := filepath.Join(mp, sysDir, leftMarker)
		err := s.cfg.FS.Remove(p)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err == nil && on {
			err = s.writeMarker(p)
		}
		if err != nil {
			s.log.Warn("leave marker", "path", p, "err", err)
		}
	}
}

func (s *Server) writeMarker(p string) error {
	f, err := s.cfg.FS.Create(p)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(s.clock.Now().UTC().Format(time.RFC3339) + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
