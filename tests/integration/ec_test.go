package integration

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// The EC tests (docs/protection.md). By default they run a quick load (300 objects up to
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
		if err == nil && runningJobs(jobs) == 0 {
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
