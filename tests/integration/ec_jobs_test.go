package integration

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// The EC job tests (docs/protection.md): fencing, ec-encode, abort and re-run, a join, and
// the throughput run.

// procAddr returns the value of flag (e.g. "--data") among a process's arguments.
func procAddr(p *cluster.Proc, flag string) string {
	for i, a := range p.Args {
		if a == flag && i+1 < len(p.Args) {
			return "http://" + p.Args[i+1]
		}
	}
	return ""
}

func patchConfig(ctx context.Context, t *testing.T, c *cluster.Cluster, doc string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.MetaURLs[0]+"/v1/meta/config", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH config %s: %s %s", doc, resp.Status, body)
	}
}

func ecStats(ctx context.Context, p *cluster.Proc) map[string]int64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, procAddr(p, "--control")+"/v1/internal/ec/stats", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var m map[string]int64
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// TestECFencing pauses (SIGSTOP) a target in the middle of its ec-repair past the job's lease,
// lets a new holder take the lease (and show its newer token to every target), resumes the
// paused one, and checks that its slice writes with the old token are refused.
func TestECFencing(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c, cl, objs := ecCluster(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Work for t0's repair: every slice and replica on t1..t4 goes.
	for i := 1; i < ecTargets; i++ {
		for _, mp := range c.TargetMountpaths[i] {
			_ = os.RemoveAll(filepath.Join(mp, ".ais", "ec"))
		}
	}
	patchConfig(ctx, t, c, `{"lease_ttl":"2s","rebalance":{"bandwidth":2097152}}`)
	time.Sleep(time.Second) // the new config reaches the targets
	j, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Node: "t0", Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := cl.Job(ctx, j.ID)
		if err == nil && st.Counters.SentObjects >= 2 {
			break
		}
		if err == nil && st.State.Done() {
			t.Fatalf("the repair ended before it could be paused: %+v", st)
		}
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	holder := c.Targets[0]
	if err := holder.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Logf("paused t0 in the middle of %s", j.ID)
	time.Sleep(5 * time.Second) // well past the 2 s lease
	lease := j.ID + "@t0"
	l, err := c.MetaClient.GrantLease(ctx, api.LeaseRequest{JobID: lease, Kind: "ec-repair", Holder: "new-holder",
		TTL: meta.Duration(time.Minute)})
	if err != nil {
		t.Fatalf("the lease of the paused holder was not free after its TTL: %v", err)
	}
	t.Logf("new holder got lease %s with token %d", lease, l.Token)
	// The new holder writes (a record-less PUT: refused as invalid, but its token is seen).
	for i := 1; i < ecTargets; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, procAddr(c.Targets[i], "--data")+"/v1/internal/ec/"+ecBucket+"/fence-probe", http.NoBody)
		req.Header.Set("Ais-Lease", lease)
		req.Header.Set("Ais-Fence-Token", strconv.FormatUint(l.Token, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	refusedBefore := int64(0)
	for i := 1; i < ecTargets; i++ {
		refusedBefore += ecStats(ctx, c.Targets[i])["refused_stale_token"]
	}
	if err := holder.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	end, err := cl.WaitJob(ctx, j.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	refused := int64(0)
	for i := 1; i < ecTargets; i++ {
		refused += ecStats(ctx, c.Targets[i])["refused_stale_token"]
	}
	t.Logf("after resuming: job %s on t0 ended %s (%s); receivers refused %d writes with the old token", j.ID, end.State,
		end.Error, refused-refusedBefore)
	if refused-refusedBefore == 0 {
		t.Errorf("no write of the paused holder was refused")
	}
	if end.State != meta.JobFailed || !strings.Contains(end.Error, "fencing token") {
		t.Errorf("the paused holder's job ended %s (%q), want failed on a stale fencing token", end.State, end.Error)
	}
	// A stale write issued directly is refused with 409 StaleToken.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, procAddr(c.Targets[1], "--data")+"/v1/internal/ec/"+ecBucket+"/fence-probe", http.NoBody)
	req.Header.Set("Ais-Lease", lease)
	req.Header.Set("Ais-Fence-Token", strconv.FormatUint(l.Token-1, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || resp.Header.Get(api.HeaderErrorCode) != "StaleToken" {
		t.Errorf("stale write: %s %s, want 409 StaleToken", resp.Status, resp.Header.Get(api.HeaderErrorCode))
	}
	_ = objs
}

// TestECEncodeExisting turns EC on for a bucket that holds data: every target starts ec-encode
// in the new epoch, and afterwards every object has its slices or replicas. Started again by
// request, the job finds nothing left to do.
func TestECEncodeExisting(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: ecTargets, Mountpaths: 2, Gateways: 1})
	cl, err := api.NewClient(c.GatewayURLs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := cl.CreateBucket(ctx, ecBucket, []byte(`{"write":{"fsync":false}}`)); err != nil {
		t.Fatal(err)
	}
	objs := ecObjects()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, o := range objs {
		g.Go(func() error {
			_, err := cl.PutObject(gctx, ecBucket, o.name, o.reader(), o.size, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"ec":{"enabled":true,"data":%d,"parity":%d,"objsize_limit":%d,"full_copy":true}}`, ecD, ecP, ecSizeLim)
	start := time.Now()
	if _, err := cl.PatchBucketProps(ctx, ecBucket, []byte(patch)); err != nil {
		t.Fatal(err)
	}
	var id string
	for id == "" && ctx.Err() == nil {
		jobs, _ := cl.ListJobs(ctx, "ec-encode")
		for _, j := range jobs {
			id = j.ID
		}
		time.Sleep(100 * time.Millisecond)
	}
	j, err := cl.WaitJob(ctx, id, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("ec-encode %s: %s in %s: %d objects encoded, %.1f MiB of slices sent (%.1f MiB/s), %d errors", j.ID, j.State,
		el.Round(time.Millisecond), j.Counters.LocalObjects, float64(j.Counters.SentBytes)/(1<<20),
		float64(j.Counters.SentBytes)/(1<<20)/el.Seconds(), j.Counters.Errors)
	if j.State != meta.JobFinished || j.Counters.Errors != 0 || j.Counters.LocalObjects != int64(len(objs)) {
		t.Errorf("ec-encode: %s, %d of %d objects, %d errors", j.State, j.Counters.LocalObjects, len(objs), j.Counters.Errors)
	}
	checkLayout(t, c, objs, true)
	again, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-encode", Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	if again, err = cl.WaitJob(ctx, again.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if again.State != meta.JobFinished || again.Counters.LocalObjects != 0 {
		t.Errorf("ec-encode run again: %s with %d objects encoded, want finished with 0", again.State, again.Counters.LocalObjects)
	}
	// Bad input: a job without a bucket, or on a bucket without EC.
	if _, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair"}); err == nil {
		t.Errorf("ec-repair without a bucket started")
	} else {
		var we *api.Error
		if !errors.As(err, &we) || we.Status != http.StatusBadRequest {
			t.Errorf("ec-repair without a bucket: %v, want 400", err)
		}
	}
	if errs, wrong := readAll(ctx, t, cl, objs); errs != 0 || wrong != 0 {
		t.Errorf("after ec-encode: %d errors, %d wrong", errs, wrong)
	}

	// Abort and run again: t2 loses its slices, a slowed ec-repair is aborted in the middle,
	// a second one finishes the work.
	for _, mp := range c.TargetMountpaths[2] {
		_ = os.RemoveAll(filepath.Join(mp, ".ais", "ec"))
	}
	patchConfig(ctx, t, c, `{"rebalance":{"bandwidth":1048576}}`)
	time.Sleep(time.Second)
	rep, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := cl.Job(ctx, rep.ID)
		if err == nil && st.Counters.SentObjects > 0 {
			break
		}
		if err == nil && st.State.Done() {
			t.Fatalf("ec-repair ended before it could be aborted: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := cl.AbortJob(ctx, rep.ID); err != nil {
		t.Fatal(err)
	}
	if rep, err = cl.WaitJob(ctx, rep.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("aborted %s: %s after %d objects sent", rep.ID, rep.State, rep.Counters.SentObjects)
	if rep.State != meta.JobAborted {
		t.Errorf("aborted ec-repair ended %s", rep.State)
	}
	patchConfig(ctx, t, c, `{"rebalance":{"bandwidth":0}}`)
	time.Sleep(time.Second)
	rep2, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	if rep2, err = cl.WaitJob(ctx, rep2.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("ec-repair run again: %s, %d objects sent, %d errors", rep2.State, rep2.Counters.SentObjects, rep2.Counters.Errors)
	if rep2.State != meta.JobFinished || rep2.Counters.Errors != 0 {
		t.Errorf("ec-repair run again: %s, %d errors", rep2.State, rep2.Counters.Errors)
	}
	checkLayout(t, c, objs, true)
}

var ecPerf = flag.Bool("ec.perf", false, "run TestECPerf (PUT and GET throughput with and without EC)")

// TestECPerf measures PUT throughput of 1 MiB and 16 MiB objects into a plain bucket and into
// EC 2+1 buckets on the same cluster, and GET throughput with all targets up and with one
// killed (the restore path). It only reports; -ec.perf runs it.
func TestECPerf(t *testing.T) {
	if !*ecPerf {
		t.Skip("-ec.perf runs it")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: ecTargets, Mountpaths: 2, Gateways: 1})
	cl, err := api.NewClient(c.GatewayURLs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	buckets := []struct{ name, props string }{
		{"plain", `{"write":{"fsync":false}}`},
		{"ec21", `{"write":{"fsync":false},"ec":{"enabled":true,"data":2,"parity":1,"full_copy":true}}`},
		{"ec21nocopy", `{"write":{"fsync":false},"ec":{"enabled":true,"data":2,"parity":1,"full_copy":false}}`},
	}
	for _, b := range buckets {
		if err := cl.CreateBucket(ctx, b.name, []byte(b.props)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(bucket string, objs []body, get bool) float64 {
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, o := range objs {
			g.Go(func() error {
				if !get {
					_, err := cl.PutObject(gctx, bucket, o.name, o.reader(), o.size, nil)
					return err
				}
				rc, _, err := cl.GetObject(gctx, bucket, o.name, nil)
				if err != nil {
					return err
				}
				defer rc.Close()
				return o.compare(rc)
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		return float64(totalBytes(objs)) / (1 << 20) / time.Since(start).Seconds()
	}
	sets := map[int64][]body{}
	for _, size := range []int64{1 << 20, 16 << 20} {
		n := int((1 << 30) / size) // 1 GiB per run
		for i := 0; i < n; i++ {
			sets[size] = append(sets[size], body{name: fmt.Sprintf("p/%d/%05d", size>>20, i), size: size, seed: 9})
		}
	}
	amp := map[string]float64{"plain": 1, "ec21": 2.5, "ec21nocopy": 1.5}
	put := map[string]float64{}
	for _, size := range []int64{1 << 20, 16 << 20} {
		for _, b := range buckets {
			v := run(b.name, sets[size], false)
			put[fmt.Sprint(b.name, size)] = v
			plain := put[fmt.Sprint("plain", size)]
			t.Logf("PUT %2d MiB objects into %-10s: %6.1f MiB/s (bytes written x%.1f; %.2f of what plain PUT allows)",
				size>>20, b.name, v, amp[b.name], v/(plain/amp[b.name]))
		}
	}
	for _, b := range buckets {
		t.Logf("GET 16 MiB objects from %-10s, all targets up: %6.1f MiB/s", b.name, run(b.name, sets[16<<20], true))
	}
	c.Targets[ecVictimIx].Kill()
	for _, b := range buckets[1:] {
		t.Logf("GET 16 MiB objects from %-10s, t%d killed:     %6.1f MiB/s", b.name, ecVictimIx, run(b.name, sets[16<<20], true))
	}
}

// TestECJoinRepair adds a target: rebalance moves owners' copies; reads go on with 0 errors;
// once the new placement has settled, an ec-repair that every target starts by itself puts
// every slice and replica at its new place and removes the ones left behind, so the bytes on
// disk match the layout again (and a second, manual ec-repair has nothing to do).
func TestECJoinRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c, cl, objs := ecCluster(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	joined := c.AddTarget(t).Name
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	waitSettled(ctx, t, cl)
	if errs, wrong := readAll(ctx, t, cl, objs); errs != 0 || wrong != 0 {
		t.Errorf("after t5 joined: %d errors, %d wrong", errs, wrong)
	}
	// Once the rebalance has settled, every target starts its part of an ec-repair of the
	// bucket by itself (one job ID for the new placement): the slices follow the objects.
	var j *api.Job
	deadline := time.Now().Add(2 * time.Minute)
	for j == nil {
		jobs, err := cl.ListJobs(ctx, "ec-repair")
		if err != nil {
			t.Fatal(err)
		}
		// The job of the new placement: the first cluster's own (five targets, started once
		// its placement settled, maybe while the objects were written) may still be listed.
		for _, cand := range jobs {
			if strings.HasPrefix(cand.ID, "ec-repair-"+ecBucket+"-p") &&
				slices.ContainsFunc(cand.Targets, func(st meta.JobStatus) bool { return st.Node == joined }) {
				j = &cand
				break
			}
		}
		if j == nil {
			if time.Now().After(deadline) {
				t.Fatal("no ec-repair started by itself within 2 minutes of the join")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	j, err := cl.WaitJob(ctx, j.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ec-repair %s started by the placement change: %s, %d objects visited, %d re-placed (%.1f MiB), %d errors", j.ID, j.State,
		j.Counters.LocalObjects, j.Counters.SentObjects, float64(j.Counters.SentBytes)/(1<<20), j.Counters.Errors)
	if j.State != meta.JobFinished || j.Counters.Errors != 0 || j.Counters.SentObjects == 0 {
		t.Errorf("automatic ec-repair: %s with %d errors, %d objects re-placed", j.State, j.Counters.Errors, j.Counters.SentObjects)
	}
	checkLayout(t, c, objs, true)
	// Started by hand afterwards, an ec-repair finds nothing left to do.
	if j, err = cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Args: map[string]string{"bucket": ecBucket}}); err != nil {
		t.Fatal(err)
	}
	if j, err = cl.WaitJob(ctx, j.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if j.State != meta.JobFinished || j.Counters.Errors != 0 || j.Counters.SentObjects != 0 {
		t.Errorf("ec-repair by hand after the automatic one: %s, %d errors, %d objects re-placed; want 0", j.State,
			j.Counters.Errors, j.Counters.SentObjects)
	}
	checkLayout(t, c, objs, true)
	if errs, wrong := readAll(ctx, t, cl, objs); errs != 0 || wrong != 0 {
		t.Errorf("after ec-repair: %d errors, %d wrong", errs, wrong)
	}
}
