package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// The rebalance tests (docs/rebalance.md): real processes on loopback, each change made while
// 8 clients keep reading and writing.

const rebBucket = "reb"

// rebObjects returns n immutable base objects of 1 KiB to 64 KiB.
func rebObjects(n int) []body {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]body, n)
	for i := range out {
		out[i] = body{name: fmt.Sprintf("base/%05d", i), size: 1<<10 + r.Int64N(63<<10), seed: 1}
	}
	return out
}

func totalBytes(objs []body) int64 {
	var n int64
	for _, o := range objs {
		n += o.size
	}
	return n
}

// rebCluster starts a cluster, creates the bucket and stores the base objects.
func rebCluster(t *testing.T, spec cluster.Spec, objs []body) (*cluster.Cluster, *api.Client) {
	t.Helper()
	spec.TargetArgs = append(spec.TargetArgs, "--log-level", "debug")
	spec.GatewayArgs = append(spec.GatewayArgs, "--log-level", "debug")
	c := cluster.Start(t, spec)
	cl, err := api.NewClient(c.GatewayURLs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cl.CreateBucket(ctx, rebBucket, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, o := range objs {
		g.Go(func() error {
			_, err := cl.PutObject(gctx, rebBucket, o.name, o.reader(), o.size, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d objects (%.1f MiB) in %s", len(objs), float64(totalBytes(objs))/(1<<20), time.Since(start).Round(time.Millisecond))
	return c, cl
}

// load is 8 clients that keep reading the base objects and writing, reading back and deleting
// objects of their own, each checking every answer.
type load struct {
	t      *testing.T
	base   []body
	cancel context.CancelFunc
	done   chan struct{}

	gets, getErrs, puts, putErrs, dels, delErrs atomic.Int64
	mu                                          sync.Mutex
	errs                                        []string
	owned                                       []map[string]ownObj
}

type ownObj struct {
	gen     uint64
	size    int64
	deleted bool
}

func (o ownObj) body(name string) body { return body{name: name, size: o.size, seed: 1000 + o.gen} }

// startLoad starts the clients; with prev, they go on with the objects of prev's clients.
func startLoad(t *testing.T, c *cluster.Cluster, base []body, prev *load) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{t: t, base: base, cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		cl, err := api.NewClient(c.GatewayURLs[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		own := map[string]ownObj{}
		if prev != nil {
			own = prev.owned[i]
		}
		l.owned = append(l.owned, own)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.client(ctx, i, cl, own)
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

func (l *load) client(ctx context.Context, id int, cl *api.Client, own map[string]ownObj) {
	r := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	names := sortedKeys(own)
	for n := 0; ctx.Err() == nil; n++ {
		// A client is not a benchmark: it pauses a little between requests, so that 8 of them
		// leave the 2 cores and the disk of a test machine some room for the rebalance.
		time.Sleep(time.Duration(2+r.IntN(4)) * time.Millisecond)
		switch p := r.IntN(100); {
		case p < 70 || len(names) == 0 && p >= 85: // read a base object
			o := l.base[r.IntN(len(l.base))]
			l.gets.Add(1)
			if err := getCompare(ctx, cl, o); err != nil && ctx.Err() == nil {
				l.getErrs.Add(1)
				l.fail("client %d: GET %s: %v", id, o.name, err)
			}
		case p < 85: // write (a new object, or a new version of one of its own)
			name := fmt.Sprintf("own/c%d/%04d", id, r.IntN(400))
			st := own[name]
			if _, ok := own[name]; !ok {
				names = append(names, name)
			}
			next := ownObj{gen: st.gen + 1, size: r.Int64N(48 << 10)}
			b := next.body(name)
			l.puts.Add(1)
			if _, err := cl.PutObject(ctx, rebBucket, name, bytes.NewReader(b.bytes()), b.size, nil); err != nil {
				if ctx.Err() == nil {
					l.putErrs.Add(1)
					l.fail("client %d: PUT %s: %v", id, name, err)
				}
				// Unknown whether it landed: a later check accepts either generation.
				next.gen = 0
			}
			own[name] = next
			if next.gen != 0 {
				l.checkOwn(ctx, id, cl, name, next)
			}
		case p < 95: // read one of its own back
			name := names[r.IntN(len(names))]
			if st := own[name]; st.gen != 0 {
				l.checkOwn(ctx, id, cl, name, st)
			}
		default: // delete one of its own
			name := names[r.IntN(len(names))]
			st := own[name]
			if st.deleted || st.gen == 0 {
				continue
			}
			l.dels.Add(1)
			if err := cl.DeleteObject(ctx, rebBucket, name); err != nil {
				if ctx.Err() == nil {
					l.delErrs.Add(1)
					l.fail("client %d: DELETE %s: %v", id, name, err)
				}
				st.gen = 0
				own[name] = st
				continue
			}
			st.deleted = true
			own[name] = st
			l.checkOwn(ctx, id, cl, name, st)
		}
	}
}

// checkOwn reads an object of the client's own back: the generation it wrote last, or 404
// after its delete.
func (l *load) checkOwn(ctx context.Context, id int, cl *api.Client, name string, st ownObj) {
	l.gets.Add(1)
	err := getCompare(ctx, cl, st.body(name))
	if st.deleted {
		if errors.Is(err, meta.ErrObjectNotFound) {
			return
		}
		if err == nil {
			err = errors.New("a deleted object came back")
		}
	}
	if err != nil && ctx.Err() == nil {
		l.getErrs.Add(1)
		l.fail("client %d: read back %s (gen %d, deleted %v): %v", id, name, st.gen, st.deleted, err)
	}
}

func getCompare(ctx context.Context, cl *api.Client, o body) error {
	rc, _, err := cl.GetObject(ctx, rebBucket, o.name, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	return o.compare(rc)
}

// stop ends the load and fails the test on any error it saw.
func (l *load) stop() {
	l.t.Helper()
	l.cancel()
	<-l.done
	l.t.Logf("load: %d GETs (%d errors), %d PUTs (%d errors), %d DELETEs (%d errors)",
		l.gets.Load(), l.getErrs.Load(), l.puts.Load(), l.putErrs.Load(), l.dels.Load(), l.delErrs.Load())
	for _, e := range l.errs {
		l.t.Errorf("load: %s", e)
	}
}

// live returns every object that must exist now with its expected body: the base objects and
// the clients' own that are not deleted (own objects whose last write had an unknown outcome
// are left out, and returned in unsure).
func (l *load) live() (live map[string]body, unsure map[string]bool) {
	live, unsure = map[string]body{}, map[string]bool{}
	for _, o := range l.base {
		live[o.name] = o
	}
	for _, own := range l.owned {
		for name, st := range own {
			switch {
			case st.gen == 0:
				unsure[name] = true
			case !st.deleted:
				live[name] = st.body(name)
			}
		}
	}
	return live, unsure
}

// waitRebalance waits until every target has finished its rebalance towards the placement of
// the latest epoch (GET /v1/cluster/rebalance), and returns the rebalance jobs started after since.
func waitRebalance(ctx context.Context, t *testing.T, c *cluster.Cluster, cl *api.Client, since time.Time) []api.Job {
	t.Helper()
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ri, err := cl.Rebalance(ctx)
		if err == nil && ri.Done {
			ok := true
			for _, st := range ri.Targets {
				ok = ok && st.Epoch >= snap.Epoch
			}
			if ok {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("rebalance did not end: %v (last status %+v, error %v)", ctx.Err(), ri, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	jobs, err := cl.ListJobs(ctx, meta.JobRebalance)
	if err != nil {
		t.Fatal(err)
	}
	var recent []api.Job
	for _, j := range jobs {
		if j.Start >= since.UnixNano() {
			recent = append(recent, j)
		}
	}
	return recent
}

func logJobs(t *testing.T, jobs []api.Job) {
	t.Helper()
	for _, j := range jobs {
		t.Logf("job %s: %s, epoch %d, %s, sent %d objects (%.1f MiB), received %d",
			j.ID, j.State, j.Epoch, time.Duration(j.End-j.Start).Round(time.Millisecond),
			j.Counters.SentObjects, float64(j.Counters.SentBytes)/(1<<20), j.Counters.ReceivedObjects)
		for _, p := range j.Targets {
			t.Logf("  %s: %s sent %d (%.1f MiB) received %d errors %d %s", p.Node, p.State, p.Counters.SentObjects,
				float64(p.Counters.SentBytes)/(1<<20), p.Counters.ReceivedObjects, p.Counters.Errors, p.Error)
		}
	}
}

// checkReadable reads every live object through the gateway and compares its bytes.
func checkReadable(ctx context.Context, t *testing.T, cl *api.Client, live map[string]body) {
	t.Helper()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	var bad atomic.Int64
	for _, o := range live {
		g.Go(func() error {
			if err := getCompare(gctx, cl, o); err != nil {
				if bad.Add(1) < 10 {
					t.Errorf("after the rebalance: %v", err)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d objects not readable with their bytes", n, len(live))
	}
}

// checkListing lists the bucket and compares it with the live objects: every one exactly once,
// nothing else (names with an unknown last write may be there or not).
func checkListing(ctx context.Context, t *testing.T, cl *api.Client, live map[string]body, unsure map[string]bool) []string {
	t.Helper()
	entries, err := cl.ListAllObjects(ctx, rebBucket, api.ListOptions{Limit: 700})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var names []string
	for _, e := range entries {
		seen[e.Name]++
		names = append(names, e.Name)
		if seen[e.Name] == 2 {
			t.Errorf("listing has %s more than once", e.Name)
		}
		if o, ok := live[e.Name]; ok && e.Size != o.size {
			t.Errorf("listing: %s has size %d, want %d", e.Name, e.Size, o.size)
		}
		if _, ok := live[e.Name]; !ok && !unsure[e.Name] {
			t.Errorf("listing has %s, which is not (any more) an object", e.Name)
		}
	}
	missing := 0
	for name := range live {
		if seen[name] == 0 {
			if missing++; missing < 10 {
				t.Errorf("listing lacks %s", name)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("listing lacks %d of %d objects", missing, len(live))
	}
	return names
}

// checkPlacement walks every target's mountpaths and checks that each object's file is at its
// HRW target's HRW mountpath and nowhere else, with the right bytes.
func checkPlacement(ctx context.Context, t *testing.T, c *cluster.Cluster, live map[string]body, unsure map[string]bool) {
	t.Helper()
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := snap.Bucket(meta.ProviderAIS, rebBucket)
	if !ok {
		t.Fatal("bucket not in the snapshot")
	}
	p := meta.NewPlacement(snap.ActiveTargets())
	where := map[string][]string{}
	for _, mps := range c.TargetMountpaths {
		for _, mp := range mps {
			root := filepath.Join(mp, "@ais", rebBucket)
			_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				rel, _ := filepath.Rel(root, path)
				where[filepath.ToSlash(rel)] = append(where[filepath.ToSlash(rel)], path)
				return nil
			})
		}
	}
	bad := 0
	for name, o := range live {
		key := meta.ObjectKey(b.Key(), name)
		owner, err := p.Owner(key)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(meta.Mountpath(key, owner.Mountpaths), "@ais", rebBucket, name)
		got := where[name]
		if len(got) != 1 || got[0] != want {
			if bad++; bad < 10 {
				t.Errorf("%s is at %v; want only %s (owner %s)", name, got, want, owner.ID)
			}
			continue
		}
		f, err := os.Open(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.compare(f); err != nil {
			t.Errorf("file %s: %v", want, err)
		}
		f.Close()
	}
	for name, paths := range where {
		if _, ok := live[name]; !ok && !unsure[name] {
			if bad++; bad < 10 {
				t.Errorf("%s is on disk at %v but is not an object", name, paths)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d objects misplaced", bad)
	}
}

// readAllBase checks every base object before the change.
func readAllBase(ctx context.Context, t *testing.T, cl *api.Client, objs []body) {
	t.Helper()
	live := map[string]body{}
	for _, o := range objs {
		live[o.name] = o
	}
	checkReadable(ctx, t, cl, live)
}

// afterChange runs the common checks once the rebalance has ended: load errors, readability,
// listing and placement.
func afterChange(ctx context.Context, t *testing.T, c *cluster.Cluster, cl *api.Client, l *load) {
	t.Helper()
	time.Sleep(time.Second) // the clients go on a moment after the job
	l.stop()
	live, unsure := l.live()
	checkReadable(ctx, t, cl, live)
	checkListing(ctx, t, cl, live, unsure)
	checkPlacement(ctx, t, c, live, unsure)
}

func sumSent(jobs []api.Job) (objs, bytes int64) {
	for _, j := range jobs {
		objs += j.Counters.SentObjects
		bytes += j.Counters.SentBytes
	}
	return objs, bytes
}

// TestRebalanceJoin: 3 targets hold 5,000 objects; a 4th joins while 8 clients read and write.
// No GET fails; afterwards every object is at its HRW owner only, and about a quarter of the
// bytes moved.
func TestRebalanceJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	objs := rebObjects(5000)
	c, cl := rebCluster(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1}, objs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	readAllBase(ctx, t, cl, objs)
	l := startLoad(t, c, objs, nil)
	time.Sleep(time.Second)

	since := time.Now()
	c.AddTarget(t)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	jobs := waitRebalance(ctx, t, c, cl, since)
	took := time.Since(since)
	logJobs(t, jobs)
	afterChange(ctx, t, c, cl, l)

	// Bytes moved: what the targets received, from the job's transfers and from GETs that
	// fetched an object from its previous owner before the job got to it.
	var moved, sent int64
	for _, j := range jobs {
		moved += j.Counters.ReceivedBytes
		sent += j.Counters.SentBytes
	}
	live, _ := l.live()
	var total int64
	for _, o := range live {
		total += o.size
	}
	frac := float64(moved) / float64(total)
	t.Logf("join: moved %.1f MiB of %.1f MiB stored: fraction %.3f (ideal 0.25); the job sent %.1f MiB, GETs fetched the rest; done %s after the join",
		float64(moved)/(1<<20), float64(total)/(1<<20), frac, float64(sent)/(1<<20), took.Round(time.Millisecond))
	if frac < 0.18 || frac > 0.35 {
		t.Errorf("moved fraction %.3f, want about 0.25", frac)
	}
}

// setBandwidth sets the cluster's rebalance.bandwidth (bytes per second; 0: no cap).
func setBandwidth(ctx context.Context, t *testing.T, c *cluster.Cluster, bps int64) {
	t.Helper()
	doc := fmt.Sprintf(`{"rebalance":{"bandwidth":%d}}`, bps)
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
		t.Fatalf("PATCH config: %s %s", resp.Status, body)
	}
}

// jobOn returns the status of target node in the running rebalance job, if there is one.
func jobOn(ctx context.Context, cl *api.Client, node string) (meta.JobStatus, bool) {
	jobs, err := cl.ListJobs(ctx, meta.JobRebalance)
	if err != nil {
		return meta.JobStatus{}, false
	}
	for _, j := range jobs {
		for _, p := range j.Targets {
			if p.Node == node && p.State == meta.JobRunning {
				return p, true
			}
		}
	}
	return meta.JobStatus{}, false
}

// TestRebalanceKillResume: a target is SIGKILLed in the middle of the rebalance that a join
// started, and restarted: its job resumes under the same ID and finishes; nothing is lost and
// no listing has a duplicate.
func TestRebalanceKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	objs := rebObjects(5000)
	c, cl := rebCluster(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1}, objs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	setBandwidth(ctx, t, c, 3<<20) // slow enough to kill it in the middle
	l := startLoad(t, c, objs, nil)

	since := time.Now()
	c.AddTarget(t)
	var before meta.JobStatus
	for {
		st, ok := jobOn(ctx, cl, "t0")
		if ok && st.Counters.SentObjects >= 50 {
			before = st
			break
		}
		if ctx.Err() != nil {
			t.Fatal("t0 never got going")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Targets[0].Kill()
	t.Logf("killed t0 in the middle of %s after %d objects sent", before.ID, before.Counters.SentObjects)
	// Listings go on while it is down... and must never show an object twice.
	lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
	for lctx.Err() == nil {
		entries, err := cl.ListAllObjects(lctx, rebBucket, api.ListOptions{Limit: 1000})
		if err != nil {
			break // t0 does not answer: the listing fails rather than miss objects
		}
		dupes(t, entries)
	}
	lcancel()
	if err := c.Targets[0].Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// During the rest of the rebalance, listings never hold a name twice.
	go func() {
		for ctx.Err() == nil {
			entries, err := cl.ListAllObjects(ctx, rebBucket, api.ListOptions{Limit: 1000})
			if err == nil {
				dupes(t, entries)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	setBandwidth(ctx, t, c, 0)
	jobs := waitRebalance(ctx, t, c, cl, since)
	logJobs(t, jobs)
	resumed := false
	for _, j := range jobs {
		for _, p := range j.Targets {
			if p.Node == "t0" && j.ID == before.ID {
				resumed = p.State == meta.JobFinished && p.Counters.SentObjects > before.Counters.SentObjects
			}
		}
	}
	if !resumed {
		t.Errorf("t0 did not resume and finish %s", before.ID)
	}
	afterChange(ctx, t, c, cl, l)
}

func dupes(t *testing.T, entries []api.ObjectEntry) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Name] {
			t.Errorf("listing during the rebalance has %s twice", e.Name)
		}
		seen[e.Name] = true
	}
}

// TestRebalanceAbortedListing: a rebalance is aborted half way (ais job stop); a full listing
// then equals the set of readable objects, each once.
func TestRebalanceAbortedListing(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	objs := rebObjects(3000)
	c, cl := rebCluster(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1}, objs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	setBandwidth(ctx, t, c, 2<<20)
	l := startLoad(t, c, objs, nil)
	since := time.Now()
	c.AddTarget(t)
	var id string
	for id == "" {
		jobs, err := cl.ListJobs(ctx, meta.JobRebalance)
		if err == nil {
			for _, j := range jobs {
				if j.Start >= since.UnixNano() && j.State == meta.JobRunning && j.Counters.SentObjects > 100 {
					id = j.ID
				}
			}
		}
		if ctx.Err() != nil {
			t.Fatal("no rebalance to abort")
		}
		time.Sleep(50 * time.Millisecond)
	}
	abortJob(ctx, t, c, cl, id)
	j, err := cl.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	logJobs(t, []api.Job{*j})
	if j.State != meta.JobAborted {
		t.Fatalf("job %s is %s after the stop, want aborted", id, j.State)
	}
	time.Sleep(time.Second)
	l.stop()

	// The listing equals the set of readable objects: every listed name reads back (with its
	// bytes, when the test knows them), and every object the clients know is listed.
	live, unsure := l.live()
	names := checkListing(ctx, t, cl, live, unsure)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, name := range names {
		g.Go(func() error {
			if o, ok := live[name]; ok {
				if err := getCompare(gctx, cl, o); err != nil {
					t.Errorf("listed %s does not read back: %v", name, err)
				}
				return nil
			}
			rc, _, err := cl.GetObject(gctx, rebBucket, name, nil)
			if err != nil {
				t.Errorf("listed %s does not read back: %v", name, err)
				return nil
			}
			rc.Close()
			return nil
		})
	}
	_ = g.Wait()
	// ...and the objects whose last write had an unknown outcome are listed iff readable.
	for name := range unsure {
		listed := false
		for _, n := range names {
			listed = listed || n == name
		}
		_, err := cl.HeadObject(ctx, rebBucket, name)
		if listed != (err == nil) {
			t.Errorf("%s: listed %v, readable %v (%v)", name, listed, err == nil, err)
		}
	}
	t.Logf("after the abort: %d objects listed, all readable", len(names))
}

// abortJob stops a job with `ais job stop` when the CLI has the command, else through the API.
func abortJob(ctx context.Context, t *testing.T, c *cluster.Cluster, cl *api.Client, id string) {
	t.Helper()
	bin := filepath.Join(c.Bin, "ais")
	if _, err := os.Stat(bin); err == nil && cliHasJobs(bin) {
		ais := &aisCLI{t: t, bin: bin, binDir: c.Bin, endpoint: c.GatewayURLs[0]}
		out := ais.ok("job", "stop", id)
		t.Logf("ais job stop %s: %s", id, strings.TrimSpace(out))
		return
	}
	if _, err := cl.AbortJob(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func cliHasJobs(bin string) bool {
	var out bytes.Buffer
	cmd := exec.Command(bin, "job", "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd.Run() == nil
}

// TestRebalanceMaintenance: with 4 targets, one goes into maintenance (drained, still in the
// map) and is activated again (objects move back); then another is decommissioned (drained and
// removed). The load never sees an error; after each step every object is at its owner only.
func TestRebalanceMaintenance(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	objs := rebObjects(3000)
	c, cl := rebCluster(t, cluster.Spec{Meta: 3, Targets: 4, Mountpaths: 2, Gateways: 1}, objs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	steps := []struct {
		node  string
		state meta.NodeState
	}{
		{"t1", meta.NodeMaintenance},
		{"t1", meta.NodeActive},
		{"t2", meta.NodeDecommissioning},
	}
	var l *load
	for _, step := range steps {
		l = startLoad(t, c, objs, l)
		time.Sleep(500 * time.Millisecond)
		since := time.Now()
		if err := cl.SetNodeState(ctx, step.node, step.state); err != nil {
			t.Fatal(err)
		}
		jobs := waitRebalance(ctx, t, c, cl, since)
		t.Logf("%s -> %s:", step.node, step.state)
		logJobs(t, jobs)
		if step.state == meta.NodeDecommissioning {
			waitGone(ctx, t, c, step.node)
		}
		afterChange(ctx, t, c, cl, l)
		if step.state == meta.NodeMaintenance {
			snap, err := c.MetaClient.LatestSnapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := snap.Nodes[step.node]; n.State != meta.NodeMaintenance {
				t.Fatalf("%s is %s after maintenance", step.node, n.State)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// waitGone waits until a decommissioned target has left the cluster map and its process ended.
func waitGone(ctx context.Context, t *testing.T, c *cluster.Cluster, id string) {
	t.Helper()
	for {
		snap, err := c.MetaClient.LatestSnapshot(ctx)
		if err == nil {
			if _, ok := snap.Nodes[id]; !ok {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("%s still in the cluster map", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range c.Targets {
		if p.Name != id {
			continue
		}
		for p.Running() && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// sortedKeys is for stable logs.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestResilverDetach: one of a target's two mountpaths is detached while 8 clients read and
// write: every object stays readable, and after the resilver job all of that target's objects
// are on its remaining mountpath.
func TestResilverDetach(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	objs := rebObjects(3000)
	c, cl := rebCluster(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1}, objs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l := startLoad(t, c, objs, nil)
	time.Sleep(time.Second)

	gone := c.TargetMountpaths[1][1]
	var jobID string
	bin := filepath.Join(c.Bin, "ais")
	if cliHasJobs(bin) {
		ais := &aisCLI{t: t, bin: bin, binDir: c.Bin, endpoint: c.GatewayURLs[0]}
		out := ais.ok("storage", "mountpath", "detach", "t1", gone)
		t.Logf("ais storage mountpath detach t1 %s:\n%s", gone, out)
		for _, f := range strings.Fields(out) {
			if f = strings.Trim(f, "()"); strings.HasPrefix(f, meta.JobResilver+"-") {
				jobID = f
			}
		}
	} else {
		mr, err := cl.Mountpath(ctx, "t1", api.MountpathRequest{Action: api.MountpathDetach, Path: gone})
		if err != nil {
			t.Fatal(err)
		}
		jobID = mr.Job
	}
	if jobID == "" {
		t.Fatal("no resilver job")
	}
	j, err := cl.WaitJob(ctx, jobID, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	logJobs(t, []api.Job{*j})
	if j.State != meta.JobFinished {
		t.Fatalf("resilver %s: %s", jobID, j.State)
	}
	// meta learns the remaining mountpaths (the placement check reads them there).
	for {
		snap, err := c.MetaClient.LatestSnapshot(ctx)
		if err == nil && len(snap.Nodes["t1"].Mountpaths) == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("meta never learned t1's mountpaths")
		}
		time.Sleep(100 * time.Millisecond)
	}
	afterChange(ctx, t, c, cl, l)
	left := 0
	_ = filepath.WalkDir(filepath.Join(gone, "@ais"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left++
		}
		return nil
	})
	if left > 0 {
		t.Fatalf("%d objects left on the detached mountpath %s", left, gone)
	}
	t.Logf("resilver moved %d objects (%.1f MiB) off %s", j.Counters.SentObjects, float64(j.Counters.SentBytes)/(1<<20), gone)
}

// TestRebalanceThroughput measures how fast a rebalance moves data on this machine, next to the
// disk's own write speed measured in the same run (docs/performance.md): 2 targets hold 192
// objects of 4 MiB, a 3rd joins, and the test follows each target's counters every 50 ms.
func TestRebalanceThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark")
	}
	const size, count = 4 << 20, 192
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 2, Mountpaths: 1, Gateways: 1})
	cl, err := api.NewClient(c.GatewayURLs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// The disk's own write speed: files of the same size, fsynced one by one (as a target
	// writes each object), on the file system of the mountpaths, by 1 and by 8 writers.
	diskMiBs := func(writers int) float64 {
		dir, err := os.MkdirTemp(c.Dir, "disk-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		buf := bytes.Repeat([]byte{0x5a}, size)
		start := time.Now()
		g := errgroup.Group{}
		for w := 0; w < writers; w++ {
			g.Go(func() error {
				for i := w; i < 128; i += writers {
					f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
					if err != nil {
						return err
					}
					_, err = f.Write(buf)
					if err == nil {
						err = f.Sync()
					}
					f.Close()
					if err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		return 128 * size / (1 << 20) / time.Since(start).Seconds()
	}
	disk1, disk8 := diskMiBs(1), diskMiBs(8)
	// ...best of before and after the rebalance (the machine is shared).
	defer func() {
		t.Logf("disk (same file system, 4 MiB files fsynced one by one): %.0f MiB/s with 1 writer, %.0f MiB/s with 8",
			max(disk1, diskMiBs(1)), max(disk8, diskMiBs(8)))
	}()

	if err := cl.CreateBucket(ctx, rebBucket, nil); err != nil {
		t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := 0; i < count; i++ {
		o := body{name: fmt.Sprintf("big/%03d", i), size: size, seed: 3}
		g.Go(func() error {
			_, err := cl.PutObject(gctx, rebBucket, o.name, o.reader(), o.size, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	type span struct {
		bytes       int64
		first, last time.Time
	}
	sent, recv := map[string]*span{}, map[string]*span{}
	track := func(m map[string]*span, node string, b int64, now time.Time) {
		s := m[node]
		if s == nil {
			s = &span{}
			m[node] = s
		}
		if b > s.bytes {
			if s.bytes == 0 {
				s.first = now
			}
			s.bytes, s.last = b, now
		}
	}
	start := time.Now()
	c.AddTarget(t)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ri, err := cl.Rebalance(ctx)
		now := time.Now()
		if err == nil {
			done := ri.Done
			for _, st := range ri.Targets {
				done = done && st.Epoch >= snap.Epoch
				if st.Epoch >= snap.Epoch {
					track(sent, st.Node, st.Counters.SentBytes, now)
					track(recv, st.Node, st.Counters.ReceivedBytes, now)
				}
			}
			if done {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatal("rebalance did not end")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rate := func(s *span) float64 {
		d := s.last.Sub(s.first).Seconds() + 0.05 // the first bytes went out up to one poll before

		return float64(s.bytes) / (1 << 20) / d
	}
	for _, id := range sortedKeys(sent) {
		if s := sent[id]; s.bytes > 0 {
			t.Logf("rebalance: %s sent %.0f MiB at %.0f MiB/s", id, float64(s.bytes)/(1<<20), rate(s))
		}
	}
	for _, id := range sortedKeys(recv) {
		if s := recv[id]; s.bytes > 0 {
			t.Logf("rebalance: %s received %.0f MiB at %.0f MiB/s", id, float64(s.bytes)/(1<<20), rate(s))
		}
	}
	t.Logf("rebalance done %s after the join (including the %s start delay and the 3 s grace before the last removals)",
		time.Since(start).Round(10*time.Millisecond), "0.5 s")
}
