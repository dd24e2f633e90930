package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/history"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

// Env is what faults act on.
type Env struct {
	Cluster *testbed.Cluster
	Rec     *history.Recorder
	Rng     *rand.Rand
	// Bucket holds the workload's objects (faults that damage objects look there).
	Bucket string
	// Probe checks the data path end to end (a write and a read through every gateway to every
	// target); recovery waits for it as well as for Cluster.Healthy.
	Probe func(ctx context.Context) error
	Logf  func(format string, args ...any)
}

// Fault is one kind of fault. Plan chooses what to break (a node, a key) without breaking it;
// the scheduler records the plan, then calls Do, waits, and calls Heal.
type Fault interface {
	Name() string
	Plan(ctx context.Context, env *Env) (*Injection, error)
}

// Injection is one planned fault.
type Injection struct {
	Description string
	Nodes       []string
	Key         string // the object a disk fault damages
	// Hold overrides the schedule's hold range when not zero.
	Hold [2]time.Duration
	// Do breaks things.
	Do func(ctx context.Context) error
	// Heal undoes the fault and returns the addresses of restarted nodes; nil for faults that
	// are over once done (damage to an object stays).
	Heal func(ctx context.Context) ([]string, error)
	// Outcome, set by Do or Heal, is what the fault observed (how a job it stalled ended);
	// Unfinished says that outcome fails the run (a job that never ended).
	Outcome    string
	Unfinished bool
}

// Schedule says which faults to inject and when.
type Schedule struct {
	Faults []Fault
	// Quiet is the range of the pause before each fault; Hold the range of its duration.
	Quiet, Hold [2]time.Duration
	// Count stops the schedule after this many faults (0: until ctx ends).
	Count int
	// RecoveryBound is how long the cluster may take to be healthy after a heal.
	RecoveryBound time.Duration
}

// Stats sum up what a schedule did.
type Stats struct {
	Faults     int
	ByFault    map[string]int
	Recoveries []time.Duration
	Failed     int // heals after which the cluster did not recover in time
	// Outcomes are the injections' outcomes; Unfinished counts those that fail the run.
	Outcomes   []string
	Unfinished int
}

// Run injects faults until ctx ends or Count faults were injected. Every fault is healed
// before Run returns, also when ctx ends while it holds.
func Run(ctx context.Context, env *Env, s Schedule) (Stats, error) {
	st := Stats{ByFault: map[string]int{}}
	for s.Count == 0 || st.Faults < s.Count {
		if !sleep(ctx, between(env.Rng, s.Quiet)) {
			break
		}
		f := s.Faults[env.Rng.IntN(len(s.Faults))]
		inj, err := f.Plan(ctx, env)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			env.Logf("nemesis: %s: cannot plan: %v", f.Name(), err)
			continue
		}
		if err := inject(ctx, env, s, f, inj, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func inject(ctx context.Context, env *Env, s Schedule, f Fault, inj *Injection, st *Stats) error {
	env.Rec.Add(history.Event{Process: history.Nemesis, Type: history.Info, F: history.FaultStart,
		Fault: f.Name(), Description: inj.Description, Nodes: inj.Nodes, Key: inj.Key})
	env.Logf("nemesis: %s: %s", f.Name(), inj.Description)
	st.Faults++
	st.ByFault[f.Name()]++
	doErr := inj.Do(ctx)
	var restarted []string
	if inj.Heal != nil {
		if doErr == nil {
			hold := s.Hold
			if inj.Hold != [2]time.Duration{} {
				hold = inj.Hold
			}
			sleep(ctx, between(env.Rng, hold))
		}
		// Heal even when ctx ended: nothing may stay broken.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		var err error
		restarted, err = inj.Heal(hctx)
		cancel()
		if err != nil {
			return fmt.Errorf("nemesis: heal %s (%s): %w", f.Name(), inj.Description, err)
		}
	}
	if inj.Outcome != "" {
		st.Outcomes = append(st.Outcomes, inj.Outcome)
		env.Logf("nemesis: %s: %s", f.Name(), inj.Outcome)
	}
	if inj.Unfinished {
		st.Unfinished++
	}
	stop := env.Rec.Add(history.Event{Process: history.Nemesis, Type: history.Info, F: history.FaultStop,
		Fault: f.Name(), Description: inj.Description, Nodes: inj.Nodes, Key: inj.Key, Restarted: restarted,
		Error: errString(doErr)})
	if doErr != nil {
		env.Logf("nemesis: %s failed: %v", f.Name(), doErr)
	}
	rctx := context.WithoutCancel(ctx)
	d, err := waitRecovered(rctx, env, s.RecoveryBound)
	e := history.Event{Process: history.Nemesis, Type: history.Info, F: history.Recovered, Fault: f.Name(),
		Millis: d.Milliseconds(), Time: stop.Time + int64(d)}
	if err != nil {
		e.F, e.Description = history.Unrecovered, err.Error()
		st.Failed++
		env.Logf("nemesis: NOT RECOVERED %s after %s: %v", f.Name(), d, err)
	} else {
		st.Recoveries = append(st.Recoveries, d)
		env.Logf("nemesis: recovered from %s in %s", f.Name(), d.Round(time.Millisecond))
	}
	env.Rec.Add(e)
	return nil
}

// waitRecovered polls until the cluster is healthy and the probe passes, or bound passes. The
// time returned is from the heal to the start of the first check that passed (the check itself
// takes a few hundred milliseconds under load).
func waitRecovered(ctx context.Context, env *Env, bound time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		at := time.Since(start)
		err := env.Cluster.Healthy(ctx)
		if err == nil && env.Probe != nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = env.Probe(pctx)
			cancel()
		}
		if err == nil {
			return at, nil
		}
		if d := time.Since(start); d > bound {
			return d, err
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

func between(rng *rand.Rand, r [2]time.Duration) time.Duration {
	if r[1] <= r[0] {
		return r[0]
	}
	return r[0] + time.Duration(rng.Int64N(int64(r[1]-r[0])))
}

// sleep waits d or until ctx ends; it reports whether the whole d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
