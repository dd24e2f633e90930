package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

// PauseLeaseHolder makes a target hold a job lease from meta and stops it past the lease: it
// puts a random target in maintenance, which starts a rebalance on every target (each part
// holds its lease, rebalance-<E>@<target>), waits until some target's part is running, and
// SIGSTOPs that target for Hold (meant to exceed the cluster's lease_ttl; the scenario slows
// the rebalance with rebalance.bandwidth so that it is still running). On heal it sends
// SIGCONT, waits for the job to end on every target and records how it ended, then makes the
// maintenance target active again. A job that does not end within JobBound is an outcome
// "unfinished", which fails the run.
type PauseLeaseHolder struct {
	JobBound time.Duration // 0: 90 s
}

func (PauseLeaseHolder) Name() string { return "pause-lease-holder" }

func (p PauseLeaseHolder) Plan(ctx context.Context, env *Env) (*Injection, error) {
	c := env.Cluster
	maint := c.Targets[env.Rng.IntN(len(c.Targets))]
	gw, err := api.NewClient(c.Gateways[0].URL, nil)
	if err != nil {
		return nil, err
	}
	bound := p.JobBound
	if bound == 0 {
		bound = 90 * time.Second
	}
	inj := &Injection{Description: fmt.Sprintf("maintenance %s, then SIGSTOP a target that holds a rebalance lease", maint.Name),
		Nodes: []string{maint.Name}}
	var holder *testbed.Node
	var job string
	inj.Do = func(ctx context.Context) error {
		before, err := c.MetaClient.LatestSnapshot(ctx)
		if err != nil {
			return err
		}
		if err := c.MetaClient.SetNodeState(ctx, maint.Name, meta.NodeMaintenance); err != nil {
			return fmt.Errorf("maintenance %s: %w", maint.Name, err)
		}
		holder, job, err = findHolder(ctx, env.Rng, c, gw, before.Epoch)
		if err != nil {
			inj.Outcome = "no lease holder to pause: " + err.Error()
			return err
		}
		if err := holder.Pause(); err != nil {
			return err
		}
		inj.Nodes = append(inj.Nodes, holder.Name)
		inj.Description += fmt.Sprintf(": SIGSTOP %s (pid %d), running its part of %s", holder.Name, holder.Pid(), job)
		env.Logf("nemesis: pause-lease-holder: SIGSTOP %s, running its part of %s", holder.Name, job)
		return nil
	}
	inj.Heal = func(ctx context.Context) ([]string, error) {
		if holder != nil {
			if err := holder.Resume(); err != nil {
				return nil, err
			}
		}
		if job != "" {
			inj.Outcome, inj.Unfinished = jobOutcome(ctx, gw, job, bound)
			inj.Description += "; " + inj.Outcome
		}
		return nil, c.MetaClient.SetNodeState(ctx, maint.Name, meta.NodeActive)
	}
	return inj, nil
}

// findHolder waits until a rebalance job of an epoch after since runs on some target and returns
// one such target (at random) and the job.
func findHolder(ctx context.Context, rng *rand.Rand, c *testbed.Cluster, gw *api.Client, since uint64) (*testbed.Node, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		js, err := gw.ListJobs(ctx, meta.JobRebalance)
		if err == nil {
			for _, j := range js {
				if j.Epoch <= since {
					continue
				}
				var running []*testbed.Node
				for _, t := range j.Targets {
					if t.State == meta.JobRunning {
						if n := c.Node(t.Node); n != nil {
							running = append(running, n)
						}
					}
				}
				if len(running) > 0 {
					return running[rng.IntN(len(running))], j.ID, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, "", fmt.Errorf("no target ran a rebalance of an epoch after %d within 15 s (last error: %v)", since, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// jobOutcome waits up to bound for job to end on every target and describes how it ended.
func jobOutcome(ctx context.Context, gw *api.Client, job string, bound time.Duration) (string, bool) {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	j, err := gw.WaitJob(wctx, job, 200*time.Millisecond)
	if err != nil || j == nil || !j.State.Done() {
		state := "unknown"
		if j != nil {
			state = string(j.State)
		}
		return fmt.Sprintf("job %s unfinished %s after SIGCONT (state %s: %v)", job, time.Since(start).Round(time.Millisecond),
			state, err), true
	}
	var parts string
	for _, t := range j.Targets {
		parts += fmt.Sprintf(" %s:%s", t.Node, t.State)
		if t.Error != "" {
			parts += fmt.Sprintf("(%s)", t.Error)
		}
	}
	return fmt.Sprintf("job %s %s %s after SIGCONT, %d objects sent [%s ]", job, j.State,
		time.Since(start).Round(time.Millisecond), j.Counters.SentObjects, parts), false
}
