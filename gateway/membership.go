package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// membership joins meta and heartbeats until ctx ends, joining again when meta has forgotten
// the node. It fails only when meta refuses the node for good (an invalid node).
func (g *Gateway) membership(ctx context.Context, node meta.Node) error {
	if err := g.join(ctx, node); err != nil {
		return err
	}
	for {
		interval := 2 * time.Second
		if v := g.follower.Current(); v != nil && v.Snap.Config.HeartbeatInterval > 0 {
			interval = v.Snap.Config.HeartbeatInterval.D()
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		hr, err := g.mc.Heartbeat(ctx, api.Heartbeat{ID: node.ID})
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, meta.ErrNodeNotFound):
			g.log.Warn("meta does not know this gateway; joining again")
			if err := g.join(ctx, node); err != nil {
				return err
			}
		case err != nil:
			g.log.Warn("heartbeat failed", "err", err)
		case hr.Epoch > g.follower.Epoch():
			g.follower.Refresh()
		}
	}
}

// join registers the node with meta, retrying until meta answers. A refusal of the node itself
// (invalid, or not permitted) is returned; ctx ending returns nil.
func (g *Gateway) join(ctx context.Context, node meta.Node) error {
	backoff := 200 * time.Millisecond
	for {
		jr, err := g.mc.Join(ctx, node)
		if err == nil {
			g.log.Info("joined meta", "epoch", jr.Epoch, "public_url", node.PublicURL)
			if jr.Epoch > g.follower.Epoch() {
				g.follower.Refresh()
			}
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		switch meta.KindOf(err) {
		case meta.KindInvalid, meta.KindPermission:
			return fmt.Errorf("gateway: join meta as %s: %w", node.ID, err)
		}
		g.log.Warn("join failed; retrying", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
