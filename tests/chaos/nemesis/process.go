package nemesis

import (
	"context"
	"fmt"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

// Which picks the node a process fault acts on.
type Which string

// Node choices.
const (
	RandomTarget  Which = "target"
	RandomGateway Which = "gateway"
	MetaLeader    Which = "meta-leader"
)

func choose(ctx context.Context, env *Env, w Which) (*testbed.Node, error) {
	switch w {
	case RandomTarget:
		return env.Cluster.Targets[env.Rng.IntN(len(env.Cluster.Targets))], nil
	case RandomGateway:
		return env.Cluster.Gateways[env.Rng.IntN(len(env.Cluster.Gateways))], nil
	case MetaLeader:
		return leader(ctx, env)
	}
	return nil, fmt.Errorf("nemesis: unknown node choice %q", w)
}

// Kill sends SIGKILL to a node and restarts it when healed.
type Kill struct {
	Of Which
	// Down overrides how long the node stays dead (e.g. past the node timeout, so that meta
	// marks it down).
	Down [2]time.Duration
	// Label distinguishes variants in the history (default "kill-" + Of).
	Label string
}

func (k Kill) Name() string {
	if k.Label != "" {
		return k.Label
	}
	return "kill-" + string(k.Of)
}

func (k Kill) Plan(ctx context.Context, env *Env) (*Injection, error) {
	n, err := choose(ctx, env, k.Of)
	if err != nil {
		return nil, err
	}
	return &Injection{Description: fmt.Sprintf("SIGKILL %s (pid %d), restart on heal", n.Name, n.Pid()),
		Nodes: []string{n.Name}, Hold: k.Down,
		Do: func(context.Context) error { n.Kill(); return nil },
		Heal: func(context.Context) ([]string, error) {
			if err := n.Start(); err != nil {
				return nil, err
			}
			return []string{n.IP}, nil
		}}, nil
}

// Pause stops a node with SIGSTOP and continues it with SIGCONT when healed.
type Pause struct {
	Of Which
	// For overrides how long the node stays stopped (past an election timeout, a lease TTL
	// or the node timeout).
	For   [2]time.Duration
	Label string
}

func (p Pause) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return "pause-" + string(p.Of)
}

func (p Pause) Plan(ctx context.Context, env *Env) (*Injection, error) {
	n, err := choose(ctx, env, p.Of)
	if err != nil {
		return nil, err
	}
	return &Injection{Description: fmt.Sprintf("SIGSTOP %s (pid %d), SIGCONT on heal", n.Name, n.Pid()),
		Nodes: []string{n.Name}, Hold: p.For,
		Do:   func(context.Context) error { return n.Pause() },
		Heal: func(context.Context) ([]string, error) { return nil, n.Resume() }}, nil
}
