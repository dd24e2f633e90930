package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/tests/chaos/check"
	"github.com/aisfoundry/ais/tests/chaos/history"
	"github.com/aisfoundry/ais/tests/chaos/nemesis"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
	"github.com/aisfoundry/ais/tests/chaos/workload"
)

// Buckets of every run.
const (
	bucket      = "chaos"
	probeBucket = "chaosprobe"
)

// Run is one scenario's execution: where its files are and what it found.
type Run struct {
	Scenario Scenario
	Seed     uint64
	Dir      string
	Replay   string // the command that runs this scenario again with the same seed

	Started  time.Time
	Elapsed  time.Duration
	Ops      int // completed client operations
	ByType   map[string]int
	ByAPI    []string // "kind ok/total" per client kind
	S3       string   // what the S3 clients did beyond PUT/GET/DELETE
	Nemesis  nemesis.Stats
	Results  []*check.Result
	Failures []string // setup or harness failures (not anomalies)
}

// Anomalies is the number of anomalies all checkers found.
func (r *Run) Anomalies() int {
	n := 0
	for _, c := range r.Results {
		n += c.Count
		if c.Inconclusive {
			n++
		}
	}
	return n
}

// OK reports whether the run passed every check; for a negative control (Scenario.Expect),
// whether the expected checker caught the planted fault.
func (r *Run) OK() bool {
	if len(r.Failures) > 0 {
		return false
	}
	if r.Scenario.Expect != "" {
		for _, c := range r.Results {
			if strings.HasPrefix(c.Name, r.Scenario.Expect) {
				return !c.Valid && !c.Inconclusive
			}
		}
		return false
	}
	for _, c := range r.Results {
		if !c.Valid {
			return false
		}
	}
	return true
}

// Logger is where a run reports progress (testing.T.Logf).
type Logger func(format string, args ...any)

// Execute runs a scenario: it starts the cluster in dir, runs the workload and the fault
// schedule, reads every key after the heal, and checks the history. The cluster is stopped
// and the network removed before it returns, also on failure.
func Execute(ctx context.Context, sc Scenario, seed uint64, dir, bin string, logf Logger) *Run {
	r := &Run{Scenario: sc, Seed: seed, Dir: dir, Started: time.Now(), ByType: map[string]int{}}
	fail := func(format string, args ...any) *Run {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
		r.Elapsed = time.Since(r.Started)
		return r
	}
	if sc.Workload != Register && sc.Workload != Durability || sc.Clients < 1 {
		return fail("scenario: workload %q with %d clients", sc.Workload, sc.Clients)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%v", err)
	}
	_ = os.WriteFile(filepath.Join(dir, "seed"), []byte(fmt.Sprintf("%d\n", seed)), 0o644)

	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	c, err := testbed.Start(sctx, sc.Cluster, filepath.Join(dir, "cluster"), bin)
	cancel()
	if err != nil {
		return fail("start cluster: %v", err)
	}
	defer c.Close()
	logf("cluster up: %d meta, %d targets, %d gateways", len(c.Meta), len(c.Targets), len(c.Gateways))

	gw, err := api.NewClient(c.Gateways[0].URL, nil)
	if err != nil {
		return fail("%v", err)
	}
	var props []byte
	if sc.BucketProps != "" {
		props = []byte(sc.BucketProps)
	}
	for _, b := range []struct {
		name  string
		props []byte
	}{{bucket, props}, {probeBucket, nil}} {
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := gw.CreateBucket(bctx, b.name, b.props)
		cancel()
		if err != nil {
			return fail("create bucket %s: %v", b.name, err)
		}
	}
	probe, err := newProber(c)
	if err != nil {
		return fail("%v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = waitProbe(pctx, probe)
	cancel()
	if err != nil {
		return fail("data path not ready: %v", err)
	}

	rec, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		return fail("%v", err)
	}
	defer rec.Close()
	kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ak, _, err := c.MetaClient.CreateKey(kctx, "chaos")
	cancel()
	if err != nil {
		return fail("create an S3 access key: %v", err)
	}
	s3key := &workload.S3Key{ID: ak.ID, Secret: ak.Secret}
	clients := make([]*workload.Client, sc.Clients)
	for i := range clients {
		// Clients alternate gateways, and take turns at the three ways in: the hop-by-hop
		// native client, the product's Go client, and S3.
		g := c.Gateways[i%len(c.Gateways)]
		kind := []string{workload.Native, workload.GoClient, workload.S3}[i%3]
		if clients[i], err = workload.NewClient(fmt.Sprintf("c%d", i), kind, g.URL, bucket, rec, s3key); err != nil {
			return fail("%v", err)
		}
	}

	// The workload runs until the fault schedule is done (and a tail after it).
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973))
	env := &nemesis.Env{Cluster: c, Rec: rec, Rng: rng, Bucket: bucket, Probe: probe.probe, Logf: logf}
	wctx, stopWorkload := context.WithCancel(ctx)
	defer stopWorkload()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		switch sc.Workload {
		case Register:
			workload.Register(wctx, clients, seed, sc.Options)
		case Durability:
			workload.Durability(wctx, clients, seed, sc.Options)
		}
	}()
	nctx, cancel := context.WithTimeout(ctx, sc.Duration)
	r.Nemesis, err = nemesis.Run(nctx, env, sc.Schedule)
	cancel()
	if err != nil {
		stopWorkload()
		wg.Wait()
		return fail("nemesis: %v", err)
	}
	if r.Nemesis.Unfinished > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d jobs stalled by the nemesis never ended", r.Nemesis.Unfinished))
	}
	select {
	case <-ctx.Done():
	case <-time.After(sc.Tail):
	}
	stopWorkload()
	wg.Wait()
	logf("workload stopped; %d faults injected; final reads", r.Nemesis.Faults)

	// After the last heal the cluster must be healthy by itself; then every key is read.
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = waitHealthy(rctx, c, probe)
	cancel()
	if err != nil {
		rec.Add(history.Event{Process: history.Nemesis, Type: history.Info, F: history.Unrecovered,
			Fault: "end of run", Description: err.Error()})
	}
	var finals []*workload.Client
	for i := 0; i < 4; i++ {
		fc, err := workload.NewClient(workload.FinalName(i), workload.Native, c.Gateways[i%len(c.Gateways)].URL, bucket, rec, nil)
		if err != nil {
			return fail("%v", err)
		}
		finals = append(finals, fc)
	}
	fctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	unsettled := workload.Final(fctx, finals, workload.Keys(rec.Events()), sc.Options.Prefix)
	cancel()
	if len(unsettled) > 0 {
		logf("%d keys not settled by final reads (first: %s)", len(unsettled), unsettled[0])
	}
	if err := rec.Close(); err != nil {
		return fail("history: %v", err)
	}
	events := rec.Events()
	_ = history.Write(filepath.Join(dir, "nemesis.jsonl"), history.NemesisEvents(events))
	r.check(events)
	r.Elapsed = time.Since(r.Started)
	return r
}

// check runs every checker over the history.
func (r *Run) check(events []history.Event) {
	ops, err := history.Ops(events)
	if err != nil {
		r.Failures = append(r.Failures, err.Error())
		return
	}
	okByAPI, byAPI := map[string]int{}, map[string]int{}
	okByF, byF := map[string]int{}, map[string]int{} // "api f"
	for _, o := range ops {
		r.Ops++
		r.ByType[o.Type]++
		byAPI[o.API]++
		byF[o.API+" "+o.F]++
		if o.Type == history.OK || o.F == history.CAS && o.Code == "PreconditionFailed" {
			okByAPI[o.API]++
			okByF[o.API+" "+o.F]++
		}
	}
	// So is an operation of one kind that never worked (a conditional PUT counts when it is
	// refused: the condition was checked).
	for f, n := range byF {
		if n >= 20 && okByF[f] == 0 {
			r.Failures = append(r.Failures, fmt.Sprintf("no %s operation succeeded (%d tried)", f, n))
		}
	}
	// A way in whose every operation failed means a broken client (say, a wrong signature),
	// not evidence: fail the run.
	for a, n := range byAPI {
		r.ByAPI = append(r.ByAPI, fmt.Sprintf("%s %d/%d ok", a, okByAPI[a], n))
		if okByAPI[a] == 0 {
			r.Failures = append(r.Failures, fmt.Sprintf("no %s operation succeeded (%d tried)", a, n))
		}
	}
	slices.Sort(r.ByAPI)
	var cas [3]int // ok, refused, unknown
	lists, mpus, mpuParts := 0, 0, 0
	for _, o := range ops {
		switch {
		case o.API != workload.S3:
		case o.F == history.CAS && o.Type == history.OK:
			cas[0]++
		case o.F == history.CAS && (o.Code == "PreconditionFailed" || o.Code == "NoSuchKey"):
			cas[1]++
		case o.F == history.CAS && o.Type == history.Info:
			cas[2]++
		case o.F == history.List && o.Type == history.OK:
			lists++
		case o.Parts > 0 && o.Type == history.OK:
			mpus++
			mpuParts += o.Parts
		}
	}
	r.S3 = fmt.Sprintf("conditional PUTs %d ok / %d refused / %d unknown; ListObjectsV2 listings %d ok; multipart uploads %d ok (%d parts)",
		cas[0], cas[1], cas[2], lists, mpus, mpuParts)
	damaged := check.DamageTargets(events)
	rec, _ := check.Recovery(events)
	r.Results = []*check.Result{
		check.Linearizable(ops, r.Dir, time.Minute),
		check.Ledger(ops, workload.FinalPrefix, damaged),
		check.Listing(ops),
		check.Integrity(events, ops),
		check.Corruption(events, ops, workload.FinalPrefix),
		check.Restored(events, ops, workload.FinalPrefix),
		check.Epochs(events, ops),
		rec,
	}
}

// Report is the run's results as text.
func (r *Run) Report() string {
	var sb strings.Builder
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	if r.Scenario.Expect != "" {
		verdict += fmt.Sprintf(" (negative control: %q must catch the planted fault)", r.Scenario.Expect)
	}
	fmt.Fprintf(&sb, "%s %s seed=%d in %s: %d operations %v, %d faults %v, %d anomalies\n", verdict,
		r.Scenario.Name, r.Seed, r.Elapsed.Round(time.Second), r.Ops, r.ByType, r.Nemesis.Faults,
		r.Nemesis.ByFault, r.Anomalies())
	fmt.Fprintf(&sb, "  by client kind: %s\n", strings.Join(r.ByAPI, ", "))
	fmt.Fprintf(&sb, "  s3: %s\n", r.S3)
	if len(r.Nemesis.Recoveries) > 0 {
		fmt.Fprintf(&sb, "  recovery after heal: median %s, max %s (%d heals)\n", median(r.Nemesis.Recoveries),
			slices.Max(r.Nemesis.Recoveries).Round(time.Millisecond), len(r.Nemesis.Recoveries))
	}
	for _, o := range r.Nemesis.Outcomes {
		fmt.Fprintf(&sb, "  nemesis outcome: %s\n", o)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&sb, "  HARNESS FAILURE: %s\n", f)
	}
	for _, c := range r.Results {
		fmt.Fprintf(&sb, "  %s\n", c)
	}
	fmt.Fprintf(&sb, "  files: %s (history.jsonl, nemesis.jsonl, cluster/logs/, seed)\n", r.Dir)
	fmt.Fprintf(&sb, "  replay: %s\n", r.Replay)
	return sb.String()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func waitProbe(ctx context.Context, p *prober) error {
	for {
		err := p.probe(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitHealthy(ctx context.Context, c *testbed.Cluster, p *prober) error {
	for {
		err := c.Healthy(ctx)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = p.probe(pctx)
			cancel()
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
