package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

func names(ns []*testbed.Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

func without(ns []string, drop string) []string {
	var out []string
	for _, n := range ns {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

func heal(env *Env) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) { return nil, env.Cluster.Net.Heal() }
}

func partition(env *Env, desc string, nodes []string, groups ...[]string) *Injection {
	return &Injection{Description: desc, Nodes: nodes,
		Do:   func(context.Context) error { return env.Cluster.Net.Partition(groups...) },
		Heal: heal(env)}
}

func leader(ctx context.Context, env *Env) (*testbed.Node, error) {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return env.Cluster.MetaLeader(lctx)
}

// PartitionMetaLeader cuts the meta leader off from the other meta members (gateways,
// targets and clients still reach it).
type PartitionMetaLeader struct{}

func (PartitionMetaLeader) Name() string { return "partition-meta-leader" }

func (PartitionMetaLeader) Plan(ctx context.Context, env *Env) (*Injection, error) {
	l, err := leader(ctx, env)
	if err != nil {
		return nil, err
	}
	others := without(names(env.Cluster.Meta), l.Name)
	return partition(env, fmt.Sprintf("meta leader %s | %s", l.Name, strings.Join(others, ",")),
		[]string{l.Name}, []string{l.Name}, others), nil
}

// IsolateGateway cuts a gateway off from every meta member; clients and targets still reach
// it.
type IsolateGateway struct{}

func (IsolateGateway) Name() string { return "isolate-gateway-from-meta" }

func (IsolateGateway) Plan(_ context.Context, env *Env) (*Injection, error) {
	g := env.Cluster.Gateways[env.Rng.IntN(len(env.Cluster.Gateways))]
	metas := names(env.Cluster.Meta)
	return partition(env, fmt.Sprintf("gateway %s | meta", g.Name), []string{g.Name}, []string{g.Name}, metas), nil
}

// IsolateTargetFromMeta is the asymmetric split: a target loses meta but still serves
// gateways and clients.
type IsolateTargetFromMeta struct{}

func (IsolateTargetFromMeta) Name() string { return "isolate-target-from-meta" }

func (IsolateTargetFromMeta) Plan(_ context.Context, env *Env) (*Injection, error) {
	t := env.Cluster.Targets[env.Rng.IntN(len(env.Cluster.Targets))]
	metas := names(env.Cluster.Meta)
	return partition(env, fmt.Sprintf("target %s | meta (gateways still reach it)", t.Name),
		[]string{t.Name}, []string{t.Name}, metas), nil
}

// Flap splits all nodes into two random halves, again and again (every Period) until healed.
type Flap struct {
	Period time.Duration // default 1.5 s
}

func (Flap) Name() string { return "flapping-partitions" }

func (f Flap) Plan(_ context.Context, env *Env) (*Injection, error) {
	period := f.Period
	if period == 0 {
		period = 1500 * time.Millisecond
	}
	all := names(env.Cluster.Nodes())
	rng := rand.New(rand.NewPCG(env.Rng.Uint64(), env.Rng.Uint64()))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	split := func() error {
		p := append([]string(nil), all...)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		k := 1 + rng.IntN(len(p)-1)
		if err := env.Cluster.Net.Heal(); err != nil {
			return err
		}
		env.Logf("nemesis: flap: %v | %v", p[:k], p[k:])
		return env.Cluster.Net.Partition(p[:k], p[k:])
	}
	return &Injection{Description: fmt.Sprintf("random halves every %s", period), Nodes: all,
		Do: func(context.Context) error {
			if err := split(); err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(period)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if err := split(); err != nil {
							env.Logf("nemesis: flap: %v", err)
						}
					}
				}
			}()
			return nil
		},
		Heal: func(context.Context) ([]string, error) {
			close(stop)
			wg.Wait()
			return nil, env.Cluster.Net.Heal()
		}}, nil
}

// Loss drops a random share (Min..Max percent) of the packets of one or two random nodes.
type Loss struct {
	Min, Max int // percent; default 10..40
}

func (Loss) Name() string { return "packet-loss" }

func (l Loss) Plan(_ context.Context, env *Env) (*Injection, error) {
	lo, hi := l.Min, l.Max
	if lo == 0 {
		lo, hi = 10, 40
	}
	pct := lo + env.Rng.IntN(hi-lo+1)
	nodes := env.Cluster.Nodes()
	victims := []string{nodes[env.Rng.IntN(len(nodes))].Name}
	if env.Rng.IntN(2) == 0 {
		if v := nodes[env.Rng.IntN(len(nodes))].Name; v != victims[0] {
			victims = append(victims, v)
		}
	}
	return &Injection{Description: fmt.Sprintf("%d%% loss on %s", pct, strings.Join(victims, ",")), Nodes: victims,
		Do: func(context.Context) error {
			for _, v := range victims {
				if err := env.Cluster.Net.Loss(v, pct); err != nil {
					return err
				}
			}
			return nil
		},
		Heal: heal(env)}, nil
}
