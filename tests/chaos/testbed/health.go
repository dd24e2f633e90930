package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// probeClient has short timeouts, so a health check never hangs on a partitioned node.
var probeClient = &http.Client{Timeout: 2 * time.Second}

// MetaLeader returns the meta member that every running member names as leader, waiting
// until there is one.
func (c *Cluster) MetaLeader(ctx context.Context) (*Node, error) {
	for {
		l, err := c.agreedLeader(ctx)
		if err == nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no agreed meta leader: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) agreedLeader(ctx context.Context) (*Node, error) {
	leader := ""
	for _, m := range c.Meta {
		if !m.Running() || m.Paused() {
			continue
		}
		var ci api.ClusterInfo
		if err := getJSON(ctx, m.URL+"/v1/cluster", &ci); err != nil {
			return nil, fmt.Errorf("meta %s: %w", m.Name, err)
		}
		switch {
		case ci.Leader == "":
			return nil, fmt.Errorf("meta %s knows no leader", m.Name)
		case leader != "" && ci.Leader != leader:
			return nil, fmt.Errorf("meta members disagree on the leader: %s and %s", leader, ci.Leader)
		}
		leader = ci.Leader
	}
	l := c.Node(leader)
	if l == nil || !l.Running() || l.Paused() {
		return nil, fmt.Errorf("leader %q is not a running member", leader)
	}
	return l, nil
}

// Healthy checks the cluster once: the meta members agree on a leader, every running target
// is active in the latest epoch and answers its health check, and every running gateway
// answers its health check at that epoch or later.
func (c *Cluster) Healthy(ctx context.Context) error {
	if _, err := c.agreedLeader(ctx); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	snap, err := c.MetaClient.LatestSnapshot(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("latest snapshot: %w", err)
	}
	for _, t := range c.Targets {
		if !t.Running() {
			continue
		}
		n, ok := snap.Nodes[t.Name]
		if !ok || n.State != meta.NodeActive {
			return fmt.Errorf("target %s is %q at epoch %d", t.Name, n.State, snap.Epoch)
		}
		var h api.Health
		if err := getJSON(ctx, t.URL+"/v1/health", &h); err != nil {
			return fmt.Errorf("target %s: %w", t.Name, err)
		}
	}
	for _, g := range c.Gateways {
		if !g.Running() {
			continue
		}
		var h api.Health
		if err := getJSON(ctx, g.URL+"/v1/health", &h); err != nil {
			return fmt.Errorf("gateway %s: %w", g.Name, err)
		}
		if h.Epoch < snap.Epoch {
			return fmt.Errorf("gateway %s at epoch %d, meta at %d", g.Name, h.Epoch, snap.Epoch)
		}
	}
	return nil
}

func getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
