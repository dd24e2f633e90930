package integration

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// Mirroring (docs/protection.md), on one cluster of 3 targets with 2 mountpaths each: copies on
// disk, a lost mountpath, corrupted files with and without validation, scrub, sync mode, and
// raising and lowering mirror.copies on a bucket with data.

// mirObjects returns n objects of 1 KiB to 1 MiB (log-uniform).
func mirObjects(n int, seed uint64) []body {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]body, n)
	for i := range out {
		out[i] = body{name: fmt.Sprintf("m/%04d", i), size: 1024 + logUniformSize(r, 1<<20-1024), seed: seed}
	}
	return out
}

// mirCluster is the shared cluster of the mirror tests.
type mirCluster struct {
	c    *cluster.Cluster
	cl   *api.Client
	seen map[string]bool // mirror jobs waitBucketJob returned already
	// live are the objects of every bucket of the tests (for the rebalance's count).
	live map[string][]body
	// offline are mountpaths that copyPaths does not look at (a dead disk: mpfail_test.go).
	offline map[string]bool
}

func (m *mirCluster) stored(bucket string, objs []body) {
	if m.live == nil {
		m.live = map[string][]body{}
	}
	m.live[bucket] = objs
}

// owners returns the owner of every live object under the latest epoch.
func (m *mirCluster) owners(ctx context.Context, t *testing.T) map[string]string {
	t.Helper()
	snap, err := m.c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := meta.NewPlacement(snap.ActiveTargets())
	out := map[string]string{}
	for bucket, objs := range m.live {
		for _, o := range objs {
			owner, err := p.Owner(meta.ObjectKey(meta.BucketKey(meta.ProviderAIS, bucket), o.name))
			if err != nil {
				t.Fatal(err)
			}
			out[bucket+"/"+o.name] = owner.ID
		}
	}
	return out
}

func (m *mirCluster) bucket(ctx context.Context, t *testing.T, name, props string) {
	t.Helper()
	if err := m.cl.CreateBucket(ctx, name, []byte(props)); err != nil {
		t.Fatal(err)
	}
}

// waitMirrorJobs waits until no mirror job runs anywhere (the async copies are made).
func (m *mirCluster) waitMirrorJobs(ctx context.Context, t *testing.T) {
	t.Helper()
	waitJobsDone(ctx, t, m.cl, meta.JobMirror)
}

// copyPaths returns, for every object, the paths of its copies on the owner's mountpaths in HRW
// order (the primary first), and the file paths found for the bucket anywhere on any target.
func (m *mirCluster) copyPaths(ctx context.Context, t *testing.T, bucket string, objs []body) (want map[string][]string, found map[string][]string) {
	t.Helper()
	snap, err := m.c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		t.Fatalf("bucket %s not in the snapshot", bucket)
	}
	p := meta.NewPlacement(snap.ActiveTargets())
	want = map[string][]string{}
	for _, o := range objs {
		key := meta.ObjectKey(b.Key(), o.name)
		owner, err := p.Owner(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, mp := range meta.MountpathOrder(key, owner.Mountpaths) {
			want[o.name] = append(want[o.name], filepath.Join(mp, "@ais", bucket, o.name))
		}
	}
	found = map[string][]string{}
	for _, mps := range m.c.TargetMountpaths {
		for _, mp := range mps {
			if m.offline[mp] {
				continue
			}
			root := filepath.Join(mp, "@ais", bucket)
			_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				rel, _ := filepath.Rel(root, path)
				found[filepath.ToSlash(rel)] = append(found[filepath.ToSlash(rel)], path)
				return nil
			})
		}
	}
	return want, found
}

// checkCopies checks that every object has exactly n copies, on the first n mountpaths of its
// owner in HRW order, each with the object's bytes, and nothing else is on disk.
func (m *mirCluster) checkCopies(ctx context.Context, t *testing.T, bucket string, objs []body, n int) {
	t.Helper()
	want, found := m.copyPaths(ctx, t, bucket, objs)
	bad := 0
	live := map[string]bool{}
	for _, o := range objs {
		live[o.name] = true
		got := found[o.name]
		exp := want[o.name][:n]
		if len(got) != n || !sameSet(got, exp) {
			if bad++; bad <= 10 {
				t.Errorf("%s: copies at %v, want %v", o.name, got, exp)
			}
			continue
		}
		for _, path := range got {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.compare(f); err != nil {
				if bad++; bad <= 10 {
					t.Errorf("copy %s: %v", path, err)
				}
			}
			f.Close()
		}
	}
	for name, paths := range found {
		if !live[name] {
			if bad++; bad <= 10 {
				t.Errorf("%s is on disk at %v but is no object", name, paths)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d objects do not have exactly %d good copies", bad, len(objs), n)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

// readAll reads every object (16 at a time) and returns how many failed or differed.
func (m *mirCluster) readAll(ctx context.Context, t *testing.T, bucket string, objs []body, opts *api.GetOptions) int64 {
	t.Helper()
	var bad atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, o := range objs {
		g.Go(func() error {
			if err := m.getCompare(gctx, bucket, o, opts); err != nil {
				if bad.Add(1) <= 10 {
					t.Errorf("%v", err)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return bad.Load()
}

func (m *mirCluster) getCompare(ctx context.Context, bucket string, o body, opts *api.GetOptions) error {
	rc, _, err := m.cl.GetObject(ctx, bucket, o.name, opts)
	if err != nil {
		return fmt.Errorf("get %s: %w", o.name, err)
	}
	defer rc.Close()
	return o.compare(rc)
}

// corrupt damages a file: 0 flips a byte in the middle, 1 cuts it to half, 2 deletes it.
func corrupt(t *testing.T, path string, how int) {
	t.Helper()
	switch how {
	case 0:
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		b := make([]byte, 1)
		off := fi.Size() / 2
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0xff
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		f.Close()
	case 1:
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	case 2:
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

var corruptHow = []string{"flipped", "truncated", "deleted"}

func TestMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 1, Targets: 3, Mountpaths: 2, Gateways: 1,
		TargetArgs: []string{"--log-level", "debug"}})
	m := &mirCluster{c: c, cl: newClient(t, c, 0)}

	// LoseMountpath is the "must show": 1,000 objects with mirror.copies=2 have exactly
	// 2 copies on different mountpaths; one mountpath of every target loses the bucket; all
	// 1,000 read back right; after a resilver every object has 2 copies again.
	t.Run("LoseMountpath", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const bucket = "mirror-lose"
		m.bucket(ctx, t, bucket, `{"mirror":{"copies":2}}`)
		objs := mirObjects(1000, 1)
		start := time.Now()
		putAll(ctx, t, m.cl, bucket, objs)
		m.stored(bucket, objs)
		t.Logf("PUT %d objects (%.1f MiB) in %s", len(objs), float64(totalBytes(objs))/(1<<20), time.Since(start).Round(time.Millisecond))
		m.waitMirrorJobs(ctx, t)
		t.Logf("async copies made %s after the first PUT", time.Since(start).Round(time.Millisecond))
		m.checkCopies(ctx, t, bucket, objs, 2)

		sum, err := m.cl.BucketSummary(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Objects != int64(len(objs)) || sum.LogicalBytes != totalBytes(objs) || sum.Files != 2*int64(len(objs)) ||
			sum.DiskBytes != 2*totalBytes(objs) || sum.Mirror == nil || sum.Mirror.Copies != 2 {
			t.Fatalf("summary %+v; want %d objects, %d bytes, twice on disk", sum, len(objs), totalBytes(objs))
		}

		for _, mps := range c.TargetMountpaths {
			if err := os.RemoveAll(filepath.Join(mps[1], "@ais", bucket)); err != nil {
				t.Fatal(err)
			}
		}
		// New versions of 50 objects go in at once (the wiped bucket directories are made again).
		for i := range objs[:50] {
			objs[i].seed = 100
			if _, err := m.cl.PutObject(ctx, bucket, objs[i].name, objs[i].reader(), objs[i].size, nil); err != nil {
				t.Fatalf("PUT after the wipe: %v", err)
			}
		}
		start = time.Now()
		if bad := m.readAll(ctx, t, bucket, objs, nil); bad > 0 {
			t.Fatalf("%d of %d objects not read back right with one mountpath of every target lost", bad, len(objs))
		}
		t.Logf("all %d objects read back right in %s with one mountpath of each target wiped", len(objs), time.Since(start).Round(time.Millisecond))

		j, err := m.cl.StartJob(ctx, api.JobRequest{Kind: meta.JobResilver})
		if err != nil {
			t.Fatal(err)
		}
		if j, err = m.cl.WaitJob(ctx, j.ID, 200*time.Millisecond); err != nil || j.State != meta.JobFinished {
			t.Fatalf("resilver %s: %v %+v", j.ID, err, j)
		}
		t.Logf("resilver %s remade %d copies (%.1f MiB)", j.ID, j.Counters.ReceivedObjects, float64(j.Counters.ReceivedBytes)/(1<<20))
		m.checkCopies(ctx, t, bucket, objs, 2)
		names := listAll(ctx, t, m.cl, bucket, 1000)
		if len(names) != len(objs) {
			t.Fatalf("listing has %d names, want %d", len(names), len(objs))
		}
	})

	// Corrupt: 100 of 300 objects have their primary file flipped, cut or deleted. With
	// checksum.validate_read every GET returns the right bytes and repairs the file; without
	// it, cut and deleted files are still detected and repaired.
	t.Run("Corrupt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const bucket = "mirror-corrupt"
		m.bucket(ctx, t, bucket, `{"mirror":{"copies":2},"checksum":{"validate_read":true}}`)
		objs := mirObjects(300, 2)
		putAll(ctx, t, m.cl, bucket, objs)
		m.stored(bucket, objs)
		m.waitMirrorJobs(ctx, t)
		want, _ := m.copyPaths(ctx, t, bucket, objs)
		for i, o := range objs[:100] {
			corrupt(t, want[o.name][0], i%3)
		}
		// One at a time: a GET reads the least busy copy, which is the primary when no other
		// read is in flight.
		for _, o := range objs[:100] {
			if err := m.getCompare(ctx, bucket, o, nil); err != nil {
				t.Fatalf("validate_read on: %v", err)
			}
		}
		m.checkCopies(ctx, t, bucket, objs, 2)
		t.Logf("validate_read on: 100 of 100 damaged objects (flipped, cut, deleted) read right and repaired")

		if _, err := m.cl.PatchBucketProps(ctx, bucket, []byte(`{"checksum":{"validate_read":false}}`)); err != nil {
			t.Fatal(err)
		}
		var damaged []body
		for i, o := range objs[100:200] {
			how := 1 + i%2
			corrupt(t, want[o.name][0], how)
			damaged = append(damaged, o)
		}
		for _, o := range damaged {
			if err := m.getCompare(ctx, bucket, o, nil); err != nil {
				t.Fatalf("validate_read off: %v", err)
			}
		}
		m.checkCopies(ctx, t, bucket, objs, 2)
		t.Logf("validate_read off: %d of %d cut or deleted objects read right and repaired", len(damaged), len(damaged))

		// ?validate=true on a bucket without validate_read catches a flipped byte too.
		corrupt(t, want[objs[250].name][0], 0)
		if err := m.getCompare(ctx, bucket, objs[250], &api.GetOptions{Validate: true}); err != nil {
			t.Fatalf("?validate=true: %v", err)
		}
		m.checkCopies(ctx, t, bucket, objs, 2)
	})

	// Scrub: 100 of 300 objects damaged (primary or second copy; flipped, cut or deleted): the
	// scrub reports 300 checked, 100 damaged, 100 restored, and every copy is good afterwards.
	t.Run("Scrub", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const bucket = "mirror-scrub"
		m.bucket(ctx, t, bucket, `{"mirror":{"copies":2}}`)
		objs := mirObjects(300, 3)
		putAll(ctx, t, m.cl, bucket, objs)
		m.stored(bucket, objs)
		m.waitMirrorJobs(ctx, t)
		want, _ := m.copyPaths(ctx, t, bucket, objs)
		for i, o := range objs[:100] {
			corrupt(t, want[o.name][(i/3)%2], i%3)
		}
		var j *api.Job
		bin := filepath.Join(c.Bin, "ais")
		ais := &aisCLI{t: t, bin: bin, binDir: c.Bin, endpoint: c.GatewayURLs[0]}
		out := ais.ok("storage", "scrub", "ais://"+bucket, "--wait")
		t.Logf("ais storage scrub ais://%s --wait:\n%s", bucket, out)
		jobs, err := m.cl.ListJobs(ctx, meta.JobScrub)
		if err != nil || len(jobs) == 0 {
			t.Fatalf("no scrub job: %v", err)
		}
		j = &jobs[0]
		cnt := j.Counters
		if j.State != meta.JobFinished || cnt.Checked != 300 || cnt.Damaged != 100 || cnt.Restored != 100 || cnt.Unrecoverable != 0 {
			t.Fatalf("scrub %s: %s, counters %+v; want 300 checked, 100 damaged, 100 restored", j.ID, j.State, cnt)
		}
		m.checkCopies(ctx, t, bucket, objs, 2)
		t.Logf("scrub: %d checked, %d damaged, %d restored, %d unrecoverable", cnt.Checked, cnt.Damaged, cnt.Restored, cnt.Unrecoverable)

		// The summary, by the CLI.
		var sum api.BucketSummary
		ais.okJSON(&sum, "storage", "summary", "ais://"+bucket, "--json")
		if sum.Objects != 300 || sum.Files != 600 {
			t.Fatalf("ais storage summary: %+v", sum)
		}
		t.Logf("ais storage summary ais://%s:\n%s", bucket, ais.ok("storage", "summary", "ais://"+bucket))

		// Without a mirror copy a damaged object is unrecoverable: GET fails clearly, scrub
		// counts it, and no wrong byte is served.
		if _, err := m.cl.PatchBucketProps(ctx, bucket, []byte(`{"mirror":{"copies":1}}`)); err != nil {
			t.Fatal(err)
		}
		m.waitBucketJob(ctx, t, bucket)
		m.checkCopies(ctx, t, bucket, objs, 1)
		corrupt(t, want[objs[0].name][0], 0)
		rc, _, err := m.cl.GetObject(ctx, bucket, objs[0].name, &api.GetOptions{Validate: true})
		if err == nil {
			rc.Close()
			t.Fatal("GET of a corrupted object without copies succeeded")
		}
		if meta.KindOf(err) != meta.KindCorrupt {
			t.Fatalf("GET of a corrupted object without copies: %v (kind %s), want a corrupt error", err, meta.KindOf(err))
		}
		t.Logf("no copy left: GET answers %v", err)
		if err := m.cl.DeleteObject(ctx, bucket, objs[0].name); err != nil {
			t.Fatal(err)
		}
		m.stored(bucket, objs[1:])
	})

	// Sync: with mirror.sync both copies exist as soon as the PUT has answered.
	t.Run("Sync", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const bucket = "mirror-sync"
		m.bucket(ctx, t, bucket, `{"mirror":{"copies":2,"sync":true}}`)
		objs := mirObjects(100, 4)
		want, _ := m.copyPaths(ctx, t, bucket, objs)
		for _, o := range objs {
			if _, err := m.cl.PutObject(ctx, bucket, o.name, o.reader(), o.size, nil); err != nil {
				t.Fatal(err)
			}
			for _, path := range want[o.name][:2] {
				if fi, err := os.Stat(path); err != nil || fi.Size() != o.size {
					t.Fatalf("right after the PUT of %s: copy %s: %v", o.name, path, err)
				}
			}
		}
		// A new version replaces both copies before the PUT answers.
		o := objs[0]
		o.seed = 99
		if _, err := m.cl.PutObject(ctx, bucket, o.name, o.reader(), o.size, nil); err != nil {
			t.Fatal(err)
		}
		objs[0] = o
		m.checkCopies(ctx, t, bucket, objs, 2)
		// DELETE removes every copy.
		if err := m.cl.DeleteObject(ctx, bucket, objs[1].name); err != nil {
			t.Fatal(err)
		}
		m.stored(bucket, append(objs[:1:1], objs[2:]...))
		for _, path := range want[objs[1].name] {
			if _, err := os.Stat(path); err == nil {
				t.Fatalf("copy %s survived the DELETE", path)
			}
		}
	})

	// RaiseLower: raising mirror.copies on a bucket with data starts a mirror job on every
	// target that adds the copies; lowering it removes them.
	t.Run("RaiseLower", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const bucket = "mirror-raise"
		m.bucket(ctx, t, bucket, `{}`)
		objs := mirObjects(300, 5)
		putAll(ctx, t, m.cl, bucket, objs)
		m.stored(bucket, objs)
		m.checkCopies(ctx, t, bucket, objs, 1)
		if _, err := m.cl.PatchBucketProps(ctx, bucket, []byte(`{"mirror":{"copies":2}}`)); err != nil {
			t.Fatal(err)
		}
		j := m.waitBucketJob(ctx, t, bucket)
		if j.Counters.SentObjects != int64(len(objs)) {
			t.Errorf("mirror job %s made %d copies, want %d", j.ID, j.Counters.SentObjects, len(objs))
		}
		m.checkCopies(ctx, t, bucket, objs, 2)
		t.Logf("raise to 2: job %s made %d copies (%.1f MiB)", j.ID, j.Counters.SentObjects, float64(j.Counters.SentBytes)/(1<<20))
		if _, err := m.cl.PatchBucketProps(ctx, bucket, []byte(`{"mirror":{"copies":1}}`)); err != nil {
			t.Fatal(err)
		}
		m.waitBucketJob(ctx, t, bucket)
		m.checkCopies(ctx, t, bucket, objs, 1)
		// A copy count above the mountpath count is capped, not an error.
		if _, err := m.cl.PatchBucketProps(ctx, bucket, []byte(`{"mirror":{"copies":5}}`)); err != nil {
			t.Fatal(err)
		}
		m.waitBucketJob(ctx, t, bucket)
		m.checkCopies(ctx, t, bucket, objs, 2)
		if bad := m.readAll(ctx, t, bucket, objs, &api.GetOptions{Validate: true}); bad > 0 {
			t.Fatalf("%d objects not read back right", bad)
		}

		// By hand, with the CLI: nothing left to do. Bad requests are refused clearly.
		ais := &aisCLI{t: t, bin: filepath.Join(c.Bin, "ais"), binDir: c.Bin, endpoint: c.GatewayURLs[0]}
		out := ais.ok("job", "start", "mirror", "ais://"+bucket, "--wait")
		t.Logf("ais job start mirror ais://%s --wait: %s", bucket, strings.TrimSpace(out))
		m.checkCopies(ctx, t, bucket, objs, 2)
		t.Logf("ais job start scrub (no bucket): %s", strings.TrimSpace(ais.fails("job", "start", "scrub")))
		for _, req := range []api.JobRequest{{Kind: meta.JobScrub}, {Kind: meta.JobMirror, Args: map[string]string{"bucket": "no-such-bucket"}},
			{Kind: meta.JobScrub, Args: map[string]string{"bucket": "Bad..Name"}}} {
			_, err := m.cl.StartJob(ctx, req)
			if k := meta.KindOf(err); k != meta.KindInvalid && k != meta.KindNotExist {
				t.Errorf("start %+v: %v (kind %s), want invalid or not-exist", req, err, k)
			}
		}
	})

	// S3: restore on read serves S3 GETs too (validate_read on: flipped, cut and deleted files).
	t.Run("S3", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		t.Setenv("AWS_CA_BUNDLE", "")
		key, _, err := c.MetaClient.CreateKey(ctx, "mirror-s3")
		if err != nil {
			t.Fatal(err)
		}
		s3cl := (&s3Env{endpoint: c.GatewayURLs[0], httpClient: &http.Client{Timeout: time.Minute}}).client(key, nil)
		const bucket = "mirror-s3"
		mkBucket(ctx, t, s3cl, bucket)
		if _, err := m.cl.PatchBucketProps(ctx, bucket, []byte(`{"mirror":{"copies":2},"checksum":{"validate_read":true}}`)); err != nil {
			t.Fatal(err)
		}
		objs := mirObjects(60, 7)
		for _, o := range objs {
			put(ctx, t, s3cl, bucket, o.name, o.bytes())
		}
		m.stored(bucket, objs)
		m.waitMirrorJobs(ctx, t)
		want, _ := m.copyPaths(ctx, t, bucket, objs)
		for i, o := range objs[:30] {
			corrupt(t, want[o.name][0], i%3)
		}
		for _, o := range objs[:30] {
			out, err := s3cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.name)})
			if err != nil {
				t.Fatalf("S3 GET %s: %v", o.name, err)
			}
			err = o.compare(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatalf("S3 GET: %v", err)
			}
		}
		m.checkCopies(ctx, t, bucket, objs, 2)
		t.Logf("S3: 30 of 30 damaged objects read right and repaired")
	})

	// Rebalance: a 4th target joins; each moved object is sent once (not once per copy), the
	// receiver makes its copies, and the sender keeps none.
	t.Run("Rebalance", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const bucket = "mirror-reb"
		m.bucket(ctx, t, bucket, `{"mirror":{"copies":2}}`)
		objs := mirObjects(600, 6)
		putAll(ctx, t, m.cl, bucket, objs)
		m.stored(bucket, objs)
		m.waitMirrorJobs(ctx, t)
		prev := m.owners(ctx, t)
		since := time.Now()
		c.AddTarget(t)
		if err := c.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		jobs := waitRebalance(ctx, t, c, m.cl, since)
		m.waitMirrorJobs(ctx, t)
		moved := 0
		for key, owner := range m.owners(ctx, t) {
			if prev[key] != owner {
				moved++
			}
		}
		var sent int64
		for _, j := range jobs {
			sent += j.Counters.SentObjects
		}
		for bucket, live := range m.live {
			n := 2
			if bucket == "mirror-scrub" {
				n = 1
			}
			m.checkCopies(ctx, t, bucket, live, n)
		}
		t.Logf("rebalance: %d objects (of all buckets, each with its copies) moved; the jobs stored %d at their new owners", moved, sent)
		if int64(moved) != sent {
			t.Errorf("rebalance stored %d objects, want %d: each object once", sent, moved)
		}
		if moved == 0 {
			t.Fatal("no object moved to the new target")
		}
	})
}

// waitBucketJob waits for the newest mirror job of a bucket (started by the props change) to
// end on every target, and returns it.
func (m *mirCluster) waitBucketJob(ctx context.Context, t *testing.T, bucket string) *api.Job {
	t.Helper()
	prefix := meta.JobMirror + "-" + bucket + "-"
	for {
		jobs, err := m.cl.ListJobs(ctx, meta.JobMirror)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs { // newest first
			if !strings.HasPrefix(j.ID, prefix) {
				continue
			}
			if m.seen == nil {
				m.seen = map[string]bool{}
			}
			if m.seen[j.ID] {
				break
			}
			if len(j.Targets) < len(m.c.Targets) {
				break // not every target has seen the new epoch yet
			}
			j, err := m.cl.WaitJob(ctx, j.ID, 200*time.Millisecond)
			if err != nil || j.State != meta.JobFinished {
				t.Fatalf("mirror job: %v %+v", err, j)
			}
			m.seen[j.ID] = true
			return j
		}
		if ctx.Err() != nil {
			t.Fatal("no mirror job started after the props change")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
