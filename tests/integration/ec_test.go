package integration

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// The EC tests (docs/protection-ec.md). By default they run a quick load (300 objects up to
// 1 MiB); -ec.full runs the numbers: 2,000 objects from 0 bytes to 8 MiB.
var ecFull = flag.Bool("ec.full", false, "EC tests: 2,000 objects of 0 to 8 MiB")

const (
	ecBucket   = "ecb"
	ecSizeLim  = 256 << 10
	ecD, ecP   = 2, 1
	ecTargets  = 5
	ecVictimIx = 1
)

func ecObjects() []body {
	n, maxSize := 300, int64(1<<20)
	if *ecFull {
		n, maxSize = 2000, 8<<20
	}
	r := rand.New(rand.NewPCG(11, 3))
	out := make([]body, n)
	for i := range out {
		size := r.Int64N(maxSize + 1)
		switch i % 50 {
		case 0:
			size = 0
		case 1:
			size = 1
		case 2:
			size = ecSizeLim - 1
		case 3:
			size = ecSizeLim
		}
		out[i] = body{name: fmt.Sprintf("obj/%05d", i), size: size, seed: 5}
	}
	return out
}

func ecCluster(t *testing.T, fullCopy bool) (*cluster.Cluster, *api.Client, []body) {
	t.Helper()
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: ecTargets, Mountpaths: 2, Gateways: 1})
	cl, err := api.NewClient(c.GatewayURLs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	props := fmt.Sprintf(`{"checksum":{"validate_read":true},"write":{"fsync":false},"ec":{"enabled":true,"data":%d,"parity":%d,"objsize_limit":%d,"full_copy":%v}}`,
		ecD, ecP, ecSizeLim, fullCopy)
	if err := cl.CreateBucket(ctx, ecBucket, []byte(props)); err != nil {
		t.Fatal(err)
	}
	objs := ecObjects()
	start := time.Now()
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
	el := time.Since(start)
	// Listings show each object once with its size, and never a slice.
	entries, err := cl.ListAllObjects(ctx, ecBucket, api.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, e := range entries {
		sizes[e.Name] = e.Size
	}
	if len(entries) != len(objs) || len(sizes) != len(objs) {
		t.Errorf("listing holds %d entries (%d names), want %d", len(entries), len(sizes), len(objs))
	}
	for _, o := range objs {
		if sz, ok := sizes[o.name]; !ok || sz != o.size {
			t.Errorf("listing: %s has size %d (listed %v), want %d", o.name, sz, ok, o.size)
			break
		}
	}
	t.Logf("PUT %d objects (%.1f MiB) with EC %d+%d full_copy=%v in %s: %.1f MiB/s", len(objs),
		float64(totalBytes(objs))/(1<<20), ecD, ecP, fullCopy, el.Round(time.Millisecond), float64(totalBytes(objs))/(1<<20)/el.Seconds())
	return c, cl, objs
}

// ecPlacement is the placement over the cluster's targets t0..t4 (all active).
func ecPlacement() *meta.Placement { return ecPlacementOf(ecTargets) }

// ecPlacementOf is the placement over targets t0..t(n-1).
func ecPlacementOf(n int) *meta.Placement {
	var nodes []meta.Node
	for i := 0; i < n; i++ {
		nodes = append(nodes, meta.Node{ID: fmt.Sprintf("t%d", i), Role: meta.RoleTarget, State: meta.NodeActive})
	}
	return meta.NewPlacement(nodes)
}

func targetIndex(id string) int {
	var i int
	fmt.Sscanf(id, "t%d", &i)
	return i
}

// findFile returns the file of rel (under "@ais/" or ".ais/ec/@ais/") on any mountpath of
// target i, or "".
func findFile(c *cluster.Cluster, i int, rel string) string {
	for _, mp := range c.TargetMountpaths[i] {
		p := filepath.Join(mp, rel)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// diskBytes sums the object and slice files of the bucket on every target.
func diskBytes(c *cluster.Cluster) (objects, slices int64) {
	for i := range c.Targets {
		for _, mp := range c.TargetMountpaths[i] {
			for _, sub := range []string{"@ais/" + ecBucket, ".ais/ec/@ais/" + ecBucket} {
				_ = filepath.WalkDir(filepath.Join(mp, sub), func(p string, d fs.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						if fi, err := d.Info(); err == nil {
							if strings.HasPrefix(sub, "@") {
								objects += fi.Size()
							} else {
								slices += fi.Size()
							}
						}
					}
					return nil
				})
			}
		}
	}
	return objects, slices
}

// expectedBytes is what the layout should hold on disk.
func expectedBytes(objs []body, fullCopy bool) (objects, slices int64) {
	for _, o := range objs {
		if fullCopy {
			objects += o.size
		}
		if o.size < ecSizeLim {
			slices += int64(ecP+1) * o.size
		} else {
			slices += int64(ecD+ecP) * codec.SliceSize(o.size, ecD, codec.DefaultBlock)
		}
	}
	return objects, slices
}

// checkLayout checks on disk that every object's owner copy and slices (or replicas) are at
// their HRW places.
func checkLayout(t *testing.T, c *cluster.Cluster, objs []body, fullCopy bool) {
	t.Helper()
	pl := ecPlacementOf(len(c.Targets))
	missing := 0
	for _, o := range objs {
		order := pl.Order(meta.ObjectKey("ais/"+ecBucket, o.name), -1)
		if findFile(c, targetIndex(order[0].ID), "@ais/"+ecBucket+"/"+o.name) == "" {
			missing++
			if missing < 5 {
				t.Errorf("%s: no owner copy on %s", o.name, order[0].ID)
			}
		}
		n := ecD + ecP
		if o.size < ecSizeLim {
			n = ecP + 1
		}
		for _, h := range order[1 : 1+n] {
			if findFile(c, targetIndex(h.ID), ".ais/ec/@ais/"+ecBucket+"/"+o.name) == "" {
				missing++
				if missing < 5 {
					t.Errorf("%s: no slice/replica on %s", o.name, h.ID)
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d owner copies, slices or replicas missing", missing)
	}
	gotO, gotS := diskBytes(c)
	wantO, wantS := expectedBytes(objs, fullCopy)
	logical := totalBytes(objs)
	ratio := float64(gotO+gotS) / float64(wantO+wantS)
	t.Logf("on disk: objects %d B, slices+replicas %d B, total %.3f x logical %d B; expected %.3f x (ratio %.4f)",
		gotO, gotS, float64(gotO+gotS)/float64(logical), logical, float64(wantO+wantS)/float64(logical), ratio)
	if ratio < 0.95 || ratio > 1.05 {
		t.Errorf("bytes on disk %d differ from the layout's %d by more than 5%%", gotO+gotS, wantO+wantS)
	}
}

// readAll GETs every object and counts errors and wrong bytes.
func readAll(ctx context.Context, t *testing.T, cl *api.Client, objs []body) (errs, wrong int64) {
	t.Helper()
	var e, w atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, o := range objs {
		g.Go(func() error {
			rc, _, err := cl.GetObject(gctx, ecBucket, o.name, nil)
			if err != nil {
				if e.Add(1) < 5 {
					t.Logf("GET %s: %v", o.name, err)
				}
				return nil
			}
			defer rc.Close()
			if err := o.compare(rc); err != nil {
				if w.Add(1) < 5 {
					t.Logf("GET %s: %v", o.name, err)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return e.Load(), w.Load()
}

func TestECKillWipeRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	for _, fullCopy := range []bool{true, false} {
		t.Run(fmt.Sprintf("full_copy=%v", fullCopy), func(t *testing.T) {
			c, cl, objs := ecCluster(t, fullCopy)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			checkLayout(t, c, objs, fullCopy)

			start := time.Now()
			errs, wrong := readAll(ctx, t, cl, objs)
			t.Logf("normal GET of %d objects: %s, %d errors, %d wrong", len(objs), time.Since(start).Round(time.Millisecond), errs, wrong)

			victim := c.Targets[ecVictimIx]
			victim.Kill()
			start = time.Now()
			errs, wrong = readAll(ctx, t, cl, objs)
			t.Logf("GET of %d objects with t%d killed: %s, %d errors, %d wrong", len(objs), ecVictimIx,
				time.Since(start).Round(time.Millisecond), errs, wrong)
			if errs != 0 || wrong != 0 {
				t.Errorf("with one target down: %d errors and %d wrong objects, want 0", errs, wrong)
			}

			for _, mp := range c.TargetMountpaths[ecVictimIx] {
				ents, _ := os.ReadDir(mp)
				for _, e := range ents {
					if e.Name() == ".ais" {
						// keep the node ID (.ais/sys), lose the data
						_ = os.RemoveAll(filepath.Join(mp, ".ais", "ec"))
						continue
					}
					_ = os.RemoveAll(filepath.Join(mp, e.Name()))
				}
			}
			if err := victim.Start(); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second) // the rebalance of its return starts once it is active
			waitSettled(ctx, t, cl)
			start = time.Now()
			j, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Args: map[string]string{"bucket": ecBucket}})
			if err != nil {
				t.Fatal(err)
			}
			if j, err = cl.WaitJob(ctx, j.ID, 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			el := time.Since(start)
			t.Logf("ec-repair %s: %s in %s, %d objects visited, %d sent (%.1f MiB, %.1f MiB/s), %d errors", j.ID, j.State,
				el.Round(time.Millisecond), j.Counters.LocalObjects, j.Counters.SentObjects, float64(j.Counters.SentBytes)/(1<<20),
				float64(j.Counters.SentBytes)/(1<<20)/el.Seconds(), j.Counters.Errors)
			if j.State != meta.JobFinished || j.Counters.Errors != 0 {
				t.Errorf("ec-repair ended %s with %d errors: %s", j.State, j.Counters.Errors, j.Error)
			}
			checkLayout(t, c, objs, fullCopy)
			errs, wrong = readAll(ctx, t, cl, objs)
			if errs != 0 || wrong != 0 {
				t.Errorf("after repair: %d errors and %d wrong objects, want 0", errs, wrong)
			}
			if fullCopy {
				corruptAndRead(ctx, t, c, cl, objs)
			}
			tooFewSlices(ctx, t, c, cl, objs, fullCopy)
		})
	}
}

// waitSettled waits until no rebalance runs.
func waitSettled(ctx context.Context, t *testing.T, cl *api.Client) {
	t.Helper()
	for ctx.Err() == nil {
		jobs, err := cl.ListJobs(ctx, meta.JobRebalance)
		busy := err != nil
		for _, j := range jobs {
			if !j.State.Done() {
				busy = true
			}
		}
		if !busy {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// corruptAndRead damages 100 owner copies on disk (flip a byte, truncate, delete) and reads
// them with validate_read on: every GET returns the right bytes and repairs the file.
func corruptAndRead(ctx context.Context, t *testing.T, c *cluster.Cluster, cl *api.Client, objs []body) {
	t.Helper()
	pl := ecPlacement()
	var picked []body
	for _, o := range objs {
		if o.size > 0 && len(picked) < 100 {
			picked = append(picked, o)
		}
	}
	paths := map[string]string{}
	for k, o := range picked {
		owner, _ := pl.Owner(meta.ObjectKey("ais/"+ecBucket, o.name))
		p := findFile(c, targetIndex(owner.ID), "@ais/"+ecBucket+"/"+o.name)
		if p == "" {
			t.Fatalf("%s: no owner copy", o.name)
		}
		paths[o.name] = p
		switch k % 3 {
		case 0:
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := []byte{0}
			off := o.size / 2
			_, _ = f.ReadAt(b, off)
			b[0] ^= 0xff
			_, _ = f.WriteAt(b, off)
			f.Close()
		case 1:
			if err := os.Truncate(p, o.size/2); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	errs, wrong := readAll(ctx, t, cl, picked)
	repaired := 0
	for _, o := range picked {
		if fi, err := os.Stat(paths[o.name]); err == nil && fi.Size() == o.size {
			repaired++
		}
	}
	t.Logf("corrupted 100 owner copies (flip, truncate, delete): %d/100 GETs right, %d errors, %d wrong; %d/100 files repaired",
		100-errs-wrong, errs, wrong, repaired)
	if errs != 0 || wrong != 0 || repaired != 100 {
		t.Errorf("corruption: %d errors, %d wrong, %d repaired; want 0, 0, 100", errs, wrong, repaired)
	}
}

// tooFewSlices removes more pieces of objects than P allows: GET fails with TooFewSlices and
// sends no wrong bytes.
func tooFewSlices(ctx context.Context, t *testing.T, c *cluster.Cluster, cl *api.Client, objs []body, fullCopy bool) {
	t.Helper()
	pl := ecPlacement()
	n := 0
	for _, o := range objs {
		if o.size < ecSizeLim || n == 5 {
			continue
		}
		n++
		order := pl.Order(meta.ObjectKey("ais/"+ecBucket, o.name), -1)
		if fullCopy {
			_ = os.Remove(findFile(c, targetIndex(order[0].ID), "@ais/"+ecBucket+"/"+o.name))
		}
		for _, h := range order[1:3] { // two of three slices
			_ = os.Remove(findFile(c, targetIndex(h.ID), ".ais/ec/@ais/"+ecBucket+"/"+o.name))
		}
		rc, _, err := cl.GetObject(ctx, ecBucket, o.name, nil)
		if err == nil {
			rc.Close()
			t.Errorf("%s: GET with 1 of 3 slices left succeeded", o.name)
			continue
		}
		var we *api.Error
		if !errors.As(err, &we) || we.Code != "TooFewSlices" {
			t.Errorf("%s: GET with 1 of 3 slices left: %v, want code TooFewSlices", o.name, err)
			continue
		}
		if n == 1 {
			t.Logf("GET with 1 of 3 slices left: %d %s: %s", we.Status, we.Code, we.Message)
		}
	}
}

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

// TestECJoinRepair adds a target: rebalance moves owners' copies but not slices; reads go on
// with 0 errors, and an ec-repair puts every slice and replica at its new place and removes the
// ones left behind, so the bytes on disk match the layout again.
func TestECJoinRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c, cl, objs := ecCluster(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c.AddTarget(t)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	waitSettled(ctx, t, cl)
	if errs, wrong := readAll(ctx, t, cl, objs); errs != 0 || wrong != 0 {
		t.Errorf("after t5 joined: %d errors, %d wrong", errs, wrong)
	}
	j, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = cl.WaitJob(ctx, j.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("ec-repair after a join: %s, %d objects visited, %d re-placed (%.1f MiB), %d errors", j.State,
		j.Counters.LocalObjects, j.Counters.SentObjects, float64(j.Counters.SentBytes)/(1<<20), j.Counters.Errors)
	if j.State != meta.JobFinished || j.Counters.Errors != 0 {
		t.Errorf("ec-repair: %s with %d errors", j.State, j.Counters.Errors)
	}
	checkLayout(t, c, objs, true)
	if errs, wrong := readAll(ctx, t, cl, objs); errs != 0 || wrong != 0 {
		t.Errorf("after ec-repair: %d errors, %d wrong", errs, wrong)
	}
}
