package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
)

// rebalanceStatus answers GET /v1/internal/rebalance.
func (s *Server) rebalanceStatus(c echo.Context) error {
	return c.JSON(http.StatusOK, s.reb.status())
}

// settle is the loop, owned by Server.Run, that finds out when the cluster is settled: while it
// is not, it asks every target that may hold objects for its rebalance status, and marks the
// placement settled once all of them report their rebalance towards it done. Settled, it
// forgets tombstones and waits for the next epoch.
func (r *rebalancer) settle(ctx context.Context) {
	for {
		v := r.s.follower.Current()
		wait := r.cfg.SettleInterval
		if v != nil {
			p := balancer.PlacementID(v.Snap)
			if r.settledFor.Load() == p && len(balancer.Down(v.Snap)) == 0 {
				wait = time.Minute
			} else if r.allDone(ctx, v.Snap.Epoch, p) {
				if r.settledFor.Swap(p) != p {
					r.log.Info("rebalance done on every target", "epoch", v.Snap.Epoch)
					if prev := r.lastSettled.Swap(p); prev != 0 && prev != p {
						// A new placement, not this target's own start nor one that came back:
						// the slices follow the objects (ec_jobs.go).
						go r.s.ecAfterSettle(v, p)
					}
				}
				r.tombs.prune(time.Time{}, true)
				wait = time.Minute
			}
		}
		r.tombs.prune(r.s.clock.Now().Add(-r.cfg.TombstoneTTL), false)
		select {
		case <-ctx.Done():
			return
		case <-r.settleKick:
		case <-r.s.clock.After(wait):
		}
	}
}

// allDone asks every holder of the view whether its rebalance towards placement p is done.
func (r *rebalancer) allDone(ctx context.Context, epoch, p uint64) bool {
	v := r.s.follower.Current()
	if v == nil || len(balancer.Down(v.Snap)) > 0 {
		return false
	}
	var mu sync.Mutex
	ok := true
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range balancer.Holders(v.Snap) {
		g.Go(func() error {
			var st api.RebalanceStatus
			if n.ID == r.s.id {
				st = r.status()
			} else if err := r.peerStatus(gctx, n.ControlURL, &st); err != nil {
				mu.Lock()
				ok = false
				mu.Unlock()
				return nil
			}
			if st.Done != p || st.Running || st.Placement != p {
				mu.Lock()
				ok = false
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return ok
}

func (r *rebalancer) peerStatus(ctx context.Context, controlURL string, st *api.RebalanceStatus) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, controlURL+"/v1/internal/rebalance", nil)
	if err != nil {
		return err
	}
	resp, err := r.peer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(st)
}
