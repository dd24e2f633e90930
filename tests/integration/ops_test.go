package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// scrape reads a /metrics URL with the Prometheus text parser.
func scrape(ctx context.Context, t *testing.T, u string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", u, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape %s: Content-Type %q, want the text format", u, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: parse: %v", u, err)
	}
	return fams
}

// sample sums the samples of a family whose labels include want (counters, gauges, and the
// sample count of histograms).
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// countingTransport counts the requests a client sends, by host:port, method and whether
// the answer was a success.
type countingTransport struct {
	rt http.RoundTripper
	mu sync.Mutex
	n  map[string]int // "host method status"
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	status := "err"
	if err == nil {
		status = fmt.Sprint(resp.StatusCode)
	}
	c.mu.Lock()
	c.n[r.URL.Host+" "+r.Method+" "+status]++
	c.mu.Unlock()
	return resp, err
}

func (c *countingTransport) count(host, method, status string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[host+" "+method+" "+status]
}

// daemonURLs are the metrics bases of every daemon: meta HTTP, target control, gateway public.
func daemonURLs(ctx context.Context, t *testing.T, c *cluster.Cluster) (metaURLs, targetURLs, gwURLs []string, targetIDs []string) {
	t.Helper()
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Targets {
		n, ok := snap.Nodes[p.Name]
		if !ok {
			t.Fatalf("target %s not in the cluster map", p.Name)
		}
		targetURLs = append(targetURLs, n.ControlURL)
		targetIDs = append(targetIDs, p.Name)
	}
	return c.MetaURLs, targetURLs, c.GatewayURLs, targetIDs
}

// TestOpsMetrics scrapes /metrics of every daemon of a cluster before and after a short load
// and checks that the counters moved by what the load implies: PUT and GET counts and bytes on
// the targets, redirects on the gateway, a 404 counted under its code, meta's Raft state.
func TestOpsMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	gwControl := fmt.Sprintf("127.0.0.1:%d", cluster.FreePorts(t, 1)[0])
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1,
		GatewayArgs: []string{"--control", gwControl}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tr := api.NewHTTPClient().Transport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = api.ExpectContinueTimeout // as api.NewClient sets on a plain transport
	ct := &countingTransport{rt: tr, n: map[string]int{}}
	cl, err := api.NewClient(c.GatewayURLs[0], &http.Client{Transport: ct})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "metrics"
	metaURLs, targetURLs, gwURLs, targetIDs := daemonURLs(ctx, t, c)
	scrapeAll := func() (m, tg, g []map[string]*dto.MetricFamily) {
		for _, u := range metaURLs {
			m = append(m, scrape(ctx, t, u+"/metrics"))
		}
		for _, u := range targetURLs {
			tg = append(tg, scrape(ctx, t, u+"/metrics"))
		}
		for _, u := range gwURLs { // the root namespace is the S3 API's
			g = append(g, scrape(ctx, t, u+"/v1/metrics"))
		}
		return
	}
	m0, t0, g0 := scrapeAll()
	if err := cl.CreateBucket(ctx, bucket, nil); err != nil {
		t.Fatal(err)
	}

	// The load: n PUTs of size bytes each, n GETs of them, one GET of a missing object, the
	// properties of a missing bucket.
	const n, size = 40, 12345
	objs := make([]body, n)
	for i := range objs {
		objs[i] = body{name: fmt.Sprintf("m/%02d", i), size: size, seed: uint64(i)}
		if _, err := cl.PutObject(ctx, bucket, objs[i].name, objs[i].reader(), size, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objs {
		if _, err := getAndCompare(ctx, cl, bucket, o); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = cl.GetObject(ctx, bucket, "no/such/object", nil)
	if !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("GET of a missing object: %v, want ObjectNotFound", err)
	}
	if _, err := cl.BucketProps(ctx, "no-such-bucket"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("props of a missing bucket: %v, want BucketNotFound", err)
	}
	m1, t1, g1 := scrapeAll()

	delta := func(before, after []map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
		var d float64
		for i := range after {
			d += sample(after[i], name, labels) - sample(before[i], name, labels)
		}
		return d
	}
	gwHost := strings.TrimPrefix(c.GatewayURLs[0], "http://")
	sentToTargets := func(method, status string) int {
		total := 0
		snap, _ := c.MetaClient.Snapshot(ctx)
		for _, id := range targetIDs {
			u, _ := url.Parse(snap.Nodes[id].PublicURL)
			total += ct.count(u.Host, method, status)
		}
		return total
	}
	leader, err := c.MetaLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what string
		got  float64
		want float64
	}{
		// The client sent every request through the gateway first (307), then to the target.
		{"gateway: PUT redirects", delta(g0, g1, "ais_gw_requests_total", map[string]string{"op": "put", "status": "307"}),
			float64(ct.count(gwHost, "PUT", "307"))},
		{"gateway: GET redirects", delta(g0, g1, "ais_gw_requests_total", map[string]string{"op": "get", "status": "307"}),
			float64(ct.count(gwHost, "GET", "307"))},
		{"gateway: GET redirects = n+1", delta(g0, g1, "ais_gw_requests_total", map[string]string{"op": "get", "status": "307"}), n + 1},
		{"targets: PUT 200", delta(t0, t1, "ais_target_requests_total", map[string]string{"op": "put", "status": "200"}),
			float64(sentToTargets("PUT", "200"))},
		{"targets: PUT 200 = n", delta(t0, t1, "ais_target_requests_total", map[string]string{"op": "put", "status": "200"}), n},
		{"targets: GET 200 = n", delta(t0, t1, "ais_target_requests_total", map[string]string{"op": "get", "status": "200"}), n},
		{"targets: PUT bytes", delta(t0, t1, "ais_target_put_bytes_total", nil), n * size},
		{"targets: GET bytes", delta(t0, t1, "ais_target_get_bytes_total", nil), n * size},
		{"targets: public request body bytes", delta(t0, t1, "ais_target_request_body_bytes_total", map[string]string{"listener": "public", "op": "put"}), n * size},
		{"targets: GET latency observations", delta(t0, t1, "ais_target_request_duration_seconds", map[string]string{"op": "get"}), n + 1},
		{"targets: 404 by status", delta(t0, t1, "ais_target_requests_total", map[string]string{"op": "get", "status": "404"}), 1},
		{"targets: 404 by code", delta(t0, t1, "ais_target_request_errors_total", map[string]string{"op": "get", "code": "ObjectNotFound"}), 1},
		{"targets: 404 sent", float64(sentToTargets("GET", "404")), 1},
		{"gateway: one error", delta(g0, g1, "ais_gw_request_errors_total", nil), 1},
		{"gateway: 404 by code", delta(g0, g1, "ais_gw_request_errors_total", map[string]string{"op": "bucket_props", "code": "BucketNotFound"}), 1},
		{"meta: one bucket", sample(m1[0], "ais_meta_buckets", nil), 1},
		{"meta: the bucket's epoch", sample(m1[leader], "ais_meta_epoch", nil) - sample(m0[leader], "ais_meta_epoch", nil), 1},
		{"meta: one bucket created", delta(m0[leader:leader+1], m1[leader:leader+1], "ais_meta_requests_total",
			map[string]string{"op": "put_bucket", "status": "200"}), 1},
		{"meta: one leader", sample(m1[0], "ais_meta_raft_leader", nil) + sample(m1[1], "ais_meta_raft_leader", nil) + sample(m1[2], "ais_meta_raft_leader", nil), 1},
		{"meta: three voters", sample(m1[0], "ais_meta_raft_voters", nil), 3},
		{"meta: three active targets", sample(m1[0], "ais_meta_nodes", map[string]string{"role": "target", "state": "active"}), 3},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: moved by %v, want %v", ck.what, ck.got, ck.want)
		}
	}
	// Every daemon serves the Go runtime's metrics, its epoch and its node.
	for i, fams := range m1 {
		if sample(fams, "go_goroutines", nil) == 0 || sample(fams, "ais_meta_epoch", nil) == 0 ||
			sample(fams, "ais_meta_info", map[string]string{"node": c.Meta[i].Name}) != 1 {
			t.Errorf("meta %d: no go_goroutines, ais_meta_epoch or ais_meta_info", i)
		}
		if _, ok := fams["ais_meta_raft_apply_lag"]; !ok {
			t.Errorf("meta %d: no ais_meta_raft_apply_lag", i)
		}
	}
	for i, fams := range t1 {
		if sample(fams, "go_goroutines", nil) == 0 || sample(fams, "ais_target_epoch", nil) == 0 {
			t.Errorf("target %d: no go_goroutines or ais_target_epoch", i)
		}
		if got := sample(fams, "ais_target_mountpath_capacity_bytes", nil); got <= 0 {
			t.Errorf("target %d: mountpath capacity %v", i, got)
		}
		if f := fams["ais_target_mountpath_capacity_bytes"]; f == nil || len(f.GetMetric()) != 2 {
			t.Errorf("target %d: want capacity of 2 mountpaths", i)
		}
	}
	if sample(g1[0], "ais_gw_epoch", nil) == 0 || sample(g1[0], "ais_gw_active_targets", nil) != 3 {
		t.Errorf("gateway: epoch %v, active targets %v", sample(g1[0], "ais_gw_epoch", nil), sample(g1[0], "ais_gw_active_targets", nil))
	}
	t.Logf("load: %d PUTs and %d GETs of %d bytes, 1 missing; gateway redirects PUT %v GET %v; targets PUT %v GET %v bytes in %v out %v",
		n, n, size, delta(g0, g1, "ais_gw_requests_total", map[string]string{"op": "put"}),
		delta(g0, g1, "ais_gw_requests_total", map[string]string{"op": "get"}),
		delta(t0, t1, "ais_target_requests_total", map[string]string{"op": "put"}),
		delta(t0, t1, "ais_target_requests_total", map[string]string{"op": "get"}),
		delta(t0, t1, "ais_target_put_bytes_total", nil), delta(t0, t1, "ais_target_get_bytes_total", nil))

	// Every metric the Grafana dashboard and the alert rules use exists (job metrics appear once
	// the target has a job runtime and ran a job).
	known := map[string]bool{}
	for _, set := range [][]map[string]*dto.MetricFamily{m1, t1, g1} {
		for _, fams := range set {
			for name, f := range fams {
				known[name] = true
				if f.GetType() == dto.MetricType_HISTOGRAM {
					known[name+"_bucket"], known[name+"_sum"], known[name+"_count"] = true, true, true
				}
			}
		}
	}
	for _, file := range []string{"../../deploy/grafana/ais.json", "../../deploy/grafana/alerts.yml"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(raw), -1) {
			if !known[name] && !strings.HasPrefix(name, "ais_target_job") {
				t.Errorf("%s uses %s, which no daemon serves", file, name)
			}
		}
	}

	// ais show storage and ais show performance read the same metrics.
	aisBin := filepath.Join(c.Bin, "ais")
	out, err := exec.CommandContext(ctx, aisBin, "-e", c.GatewayURLs[0], "show", "storage", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("ais show storage: %v\n%s", err, out)
	}
	var storage []struct {
		Target, Mountpath, Error string
		Capacity, Used           float64
	}
	if err := json.Unmarshal(out, &storage); err != nil || len(storage) != 6 {
		t.Fatalf("ais show storage: %v, %d rows:\n%s", err, len(storage), out)
	}
	for _, r := range storage {
		if r.Error != "" || r.Capacity <= 0 || r.Used <= 0 || r.Mountpath == "" {
			t.Errorf("ais show storage: %+v", r)
		}
	}
	lctx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan int)
	go func() {
		gets := 0
		for lctx.Err() == nil {
			if _, err := getAndCompare(lctx, cl, bucket, objs[gets%n]); err == nil {
				gets++
			}
		}
		loadDone <- gets
	}()
	out, err = exec.CommandContext(ctx, aisBin, "-e", c.GatewayURLs[0], "show", "performance", "--interval", "1s", "--json").CombinedOutput()
	stopLoad()
	gets := <-loadDone
	if err != nil {
		t.Fatalf("ais show performance: %v\n%s", err, out)
	}
	var perf []struct {
		Target         string
		GetPerSec      float64 `json:"get_per_sec"`
		GetBytesPerSec float64 `json:"get_bytes_per_sec"`
		GetP50         float64 `json:"get_p50_seconds"`
		Error          string
	}
	if err := json.Unmarshal(out, &perf); err != nil || len(perf) != 4 || perf[3].Target != "TOTAL" {
		t.Fatalf("ais show performance: %v:\n%s", err, out)
	}
	if perf[3].GetPerSec <= 0 || perf[3].GetBytesPerSec <= 0 || perf[3].GetP50 <= 0 {
		t.Errorf("ais show performance under a GET load (%d GETs): %+v", gets, perf[3])
	}
	t.Logf("ais show performance under one GET loop: %.0f GET/s, %.1f MiB/s, p50 %.2f ms", perf[3].GetPerSec,
		perf[3].GetBytesPerSec/(1<<20), perf[3].GetP50*1000)

	// pprof is on the target's control port and not on its public one.
	snap, err := c.MetaClient.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tn := snap.Nodes[targetIDs[0]]
	if code := httpStatus(ctx, t, tn.ControlURL+"/debug/pprof/cmdline"); code != http.StatusOK {
		t.Errorf("pprof on the control port: %d", code)
	}
	if code := httpStatus(ctx, t, tn.PublicURL+"/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Errorf("pprof on the public port: %d, want 404", code)
	}
	if code := httpStatus(ctx, t, c.GatewayURLs[0]+"/debug/pprof/cmdline"); code == http.StatusOK {
		t.Errorf("pprof on the gateway's public port: %d", code)
	}
	if code := httpStatus(ctx, t, "http://"+gwControl+"/debug/pprof/cmdline"); code != http.StatusOK {
		t.Errorf("pprof on the gateway's control port: %d", code)
	}
	if fams := scrape(ctx, t, "http://"+gwControl+"/metrics"); sample(fams, "ais_gw_epoch", nil) == 0 {
		t.Errorf("gateway control port /metrics has no epoch")
	}

	// The gateway's request ID travels in the redirect to the target and into its error body.
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := nc.Get(c.GatewayURLs[0] + api.ObjectPath(bucket, "no/such/object"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(api.HeaderRequestID)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || id == "" || !strings.Contains(loc, api.QueryRequestID+"="+id) {
		t.Fatalf("gateway answered %s, request ID %q, Location %q", resp.Status, id, loc)
	}
	resp, err = nc.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	var we api.Error
	_ = json.NewDecoder(resp.Body).Decode(&we)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get(api.HeaderRequestID) != id || we.RequestID != id {
		t.Fatalf("target answered %s with request ID %q (body %q), want 404 and %q", resp.Status,
			resp.Header.Get(api.HeaderRequestID), we.RequestID, id)
	}
}

// metricName finds the names of our metrics and Go's in dashboards and rules.
var metricName = regexp.MustCompile(`\b(ais|go|process)_[a-z_]+[a-z]\b`)

func httpStatus(ctx context.Context, t *testing.T, u string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestOpsRollingRestart SIGTERMs and restarts every target, one at a time, under 8 clients
// reading and writing a plain bucket (no mirroring, no EC). A stopping target puts itself into
// maintenance, so gateways route new objects elsewhere; the objects only it holds cannot be
// read while it is down. What is measured, and must hold:
//   - writes of new objects: 0 errors (the Go client retries 503, 421 and refused connections);
//   - reads of objects whose owner is not the restarting target (and that were not written
//     while their owner was away): 0 errors;
//   - reads of the restarting target's objects, and of objects written while their owner was
//     away: retried by the test until they succeed, each within 30 s; their failed attempts
//     and longest wait are reported;
//   - afterwards every acknowledged object reads back with its bytes.
func TestOpsRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	t.Run("plain", func(t *testing.T) { testRollingRestart(t, nil, false) })
	// A mirrored bucket: every client request succeeds, also for objects whose owner is away.
	t.Run("mirrored", func(t *testing.T) { testRollingRestart(t, []byte(`{"mirror":{"copies":2}}`), true) })
}

func testRollingRestart(t *testing.T, props []byte, strict bool) {
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cl := newClient(t, c, 0)
	const bucket = "rolling"
	if err := cl.CreateBucket(ctx, bucket, props); err != nil {
		t.Fatal(err)
	}
	snap, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		t.Fatal("bucket not in the snapshot")
	}
	full := meta.NewPlacement(snap.ActiveTargets()) // every target active: where objects live
	ownerOf := func(name string) string {
		n, err := full.Owner(meta.ObjectKey(b.Key(), name))
		if err != nil {
			t.Error(err)
			return ""
		}
		return n.ID
	}

	type object struct {
		b       body
		owner   string
		awayPut bool // written while its owner was away: it lives elsewhere until rebalanced
		acked   time.Time
	}
	var (
		mu      sync.Mutex
		objects []object
	)
	add := func(o object) {
		mu.Lock()
		objects = append(objects, o)
		mu.Unlock()
	}
	pick := func(r *rand.Rand) (object, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(objects) == 0 {
			return object{}, false
		}
		return objects[r.IntN(len(objects))], true
	}
	for i := range 120 {
		o := body{name: fmt.Sprintf("base/%03d", i), size: 4096 + int64(i*131), seed: uint64(i)}
		if _, err := cl.PutObject(ctx, bucket, o.name, o.reader(), o.size, nil); err != nil {
			t.Fatal(err)
		}
		add(object{b: o, owner: ownerOf(o.name), acked: time.Now()})
	}

	// away is the ID of the target being restarted ("" when none); windows are the spans
	// during which each target was away.
	var away atomic.Value
	away.Store("")
	var (
		wmu     sync.Mutex
		windows = map[string][][2]time.Time{}
	)
	openWindow := func(id string) {
		wmu.Lock()
		windows[id] = append(windows[id], [2]time.Time{time.Now(), {}})
		wmu.Unlock()
		away.Store(id)
	}
	closeWindow := func(id string) {
		away.Store("")
		wmu.Lock()
		w := windows[id]
		w[len(w)-1][1] = time.Now()
		wmu.Unlock()
	}
	// wasAway reports whether target id was away at some time in [from, to].
	wasAway := func(id string, from, to time.Time) bool {
		wmu.Lock()
		defer wmu.Unlock()
		for _, w := range windows[id] {
			if w[0].Before(to) && (w[1].IsZero() || w[1].After(from)) {
				return true
			}
		}
		return false
	}
	var (
		writes, writeErrs    atomic.Int64
		readsA, readErrsA    atomic.Int64 // the owner was up
		readsB, readRetriesB atomic.Int64 // the owner restarting, or the object written while it was away
		longestB             atomic.Int64 // nanoseconds
		firstErr             atomic.Value
	)
	fail := func(err error) {
		firstErr.CompareAndSwap(nil, err)
	}
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for seq := 0; lctx.Err() == nil; seq++ {
				if r.IntN(2) == 0 {
					o := body{name: fmt.Sprintf("new/%d/%05d", w, seq), size: 1024 + r.Int64N(16<<10), seed: uint64(w)<<32 | uint64(seq)}
					owner := ownerOf(o.name)
					start := time.Now()
					writes.Add(1)
					if _, err := cl.PutObject(lctx, bucket, o.name, o.reader(), o.size, nil); err != nil {
						if lctx.Err() != nil {
							return
						}
						writeErrs.Add(1)
						fail(fmt.Errorf("write %s (owner %s): %w", o.name, owner, err))
						continue
					}
					add(object{b: o, owner: owner, awayPut: wasAway(owner, start, time.Now()), acked: time.Now()})
					continue
				}
				o, ok := pick(r)
				if !ok {
					continue
				}
				start := time.Now()
				catB := o.awayPut || away.Load().(string) == o.owner
				if !catB {
					readsA.Add(1)
					_, err := getAndCompare(lctx, cl, bucket, o.b)
					switch {
					case err == nil:
						continue
					case lctx.Err() != nil:
						return
					case !wasAway(o.owner, start, time.Now()):
						readErrsA.Add(1)
						fail(fmt.Errorf("read %s (owner %s, up): %w", o.b.name, o.owner, err))
						continue
					}
					// The owner began its restart while the read was on its way.
					readsA.Add(-1)
				}
				readsB.Add(1)
				// Retry until the object reads back.
				for {
					_, err := getAndCompare(lctx, cl, bucket, o.b)
					if err == nil {
						break
					}
					if lctx.Err() != nil {
						return
					}
					readRetriesB.Add(1)
					if time.Since(start) > 30*time.Second {
						fail(fmt.Errorf("read %s (owner %s, written while away %v) failed for 30 s: %w", o.b.name, o.owner, o.awayPut, err))
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if d := int64(time.Since(start)); d > longestB.Load() {
					longestB.Store(d)
				}
			}
		})
	}

	settle := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	settle(2 * time.Second)
	type restart struct {
		id                 string
		stop, back, window time.Duration
	}
	var restarts []restart
	for i, p := range c.Targets {
		openWindow(p.Name)
		t0 := time.Now()
		p.Stop() // SIGTERM; waits for the exit
		stopped := time.Since(t0)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := waitActive(ctx, c, p.Name); err != nil {
			t.Fatalf("target %d: %v", i, err)
		}
		back := time.Since(t1)
		settle(time.Second) // gateways route to it again
		closeWindow(p.Name)
		restarts = append(restarts, restart{id: p.Name, stop: stopped, back: back, window: time.Since(t0)})
		settle(2 * time.Second)
	}
	stopLoad()
	wg.Wait()

	for _, r := range restarts {
		t.Logf("target %s: SIGTERM to exit %s, start to active %s, window %s", r.id,
			r.stop.Round(time.Millisecond), r.back.Round(time.Millisecond), r.window.Round(time.Millisecond))
	}
	mu.Lock()
	awayPuts := 0
	for _, o := range objects {
		if o.awayPut {
			awayPuts++
		}
	}
	all := slices.Clone(objects)
	mu.Unlock()
	t.Logf("writes %d (errors %d, %d while the owner was away); reads with the owner up %d (errors %d); "+
		"reads in a restart window %d (failed attempts retried %d, longest %s)",
		writes.Load(), writeErrs.Load(), awayPuts, readsA.Load(), readErrsA.Load(), readsB.Load(), readRetriesB.Load(),
		time.Duration(longestB.Load()).Round(time.Millisecond))
	if err, _ := firstErr.Load().(error); err != nil {
		t.Error(err)
	}
	if writeErrs.Load() != 0 || readErrsA.Load() != 0 {
		t.Errorf("client errors: %d writes, %d reads of objects whose owner was up", writeErrs.Load(), readErrsA.Load())
	}
	if strict && readRetriesB.Load() != 0 {
		t.Errorf("client errors: %d reads of objects whose owner was away failed", readRetriesB.Load())
	}

	// Every acknowledged object reads back (objects written while their owner was away need
	// the rebalance that follows its return).
	deadline := time.Now().Add(60 * time.Second)
	missing := 0
	for _, o := range all {
		for {
			_, err := getAndCompare(ctx, cl, bucket, o.b)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				missing++
				if missing <= 5 {
					t.Errorf("after the restarts: %v (owner %s, written while away %v)", err, o.owner, o.awayPut)
				}
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged objects do not read back", missing, len(all))
	}
}

// waitActive waits until target id is active in the latest epoch and answers its health check.
func waitActive(ctx context.Context, c *cluster.Cluster, id string) error {
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		snap, err := c.MetaClient.LatestSnapshot(qctx)
		cancel()
		if err == nil {
			if n, ok := snap.Nodes[id]; ok && n.State == meta.NodeActive {
				if resp, err := http.Get(n.PublicURL + "/v1/health"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not active: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestOpsMetaBackupRestore takes a backup of the metadata, changes the cluster after it, stops
// all three meta members, wipes their directories, seeds new ones from the backup with
// `ais-meta restore`, and checks that the cluster map, buckets and config come back identical
// (at the backup's epoch plus the bump), that gateways and targets follow, and that the data
// path works again. On the way it checks that a SIGTERMed leader hands over leadership.
func TestOpsMetaBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 1, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cl := newClient(t, c, 0)
	for _, name := range []string{"alpha", "beta"} {
		if err := cl.CreateBucket(ctx, name, []byte(`{"checksum":{"type":"md5"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	obj := body{name: "kept/object", size: 100 << 10, seed: 7}
	if _, err := cl.PutObject(ctx, "alpha", obj.name, obj.reader(), obj.size, nil); err != nil {
		t.Fatal(err)
	}

	// A leader that is told to stop hands leadership over first.
	li, err := c.MetaLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c.Meta[li].Stop()
	stopped := time.Since(t0)
	nl, err := c.MetaLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	handover := time.Since(t0)
	if !strings.Contains(readFile(t, c.Meta[li].LogPath), "transferred leadership") {
		t.Errorf("the stopped leader %s did not log a leadership transfer", c.Meta[li].Name)
	}
	t.Logf("SIGTERM to leader %s: exited in %s, %s leads after %s", c.Meta[li].Name,
		stopped.Round(time.Millisecond), c.Meta[nl].Name, handover.Round(time.Millisecond))
	if err := c.Meta[li].Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MetaLeader(ctx); err != nil {
		t.Fatal(err)
	}

	// Back up through a follower (it forwards to the leader), with the CLI.
	before, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	follower := (nl + 1) % len(c.Meta)
	backup := filepath.Join(c.Dir, "meta.backup")
	out, err := exec.CommandContext(ctx, filepath.Join(c.Bin, "ais-meta"), "backup",
		"--meta", c.MetaURLs[follower], "--out", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("ais-meta backup: %v\n%s", err, out)
	}
	t.Logf("ais-meta backup: %s", bytes.TrimSpace(out))
	if !strings.Contains(string(out), fmt.Sprintf("epoch %d ", before.Epoch)) {
		t.Fatalf("backup taken at another epoch than %d: %s", before.Epoch, out)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}

	// Changes after the backup: the restore undoes them.
	if err := cl.CreateBucket(ctx, "after-backup", nil); err != nil {
		t.Fatal(err)
	}
	later, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Lose the whole quorum, then restore every member from the backup.
	for _, p := range c.Meta {
		p.Stop()
	}
	const bump = 1000
	for _, p := range c.Meta {
		dir := argOf(p.Args, "--dir")
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		args := []string{"restore", "--from", backup, "--id", argOf(p.Args, "--id"), "--dir", dir,
			"--peers", argOf(p.Args, "--peers"), "--epoch-bump", fmt.Sprint(bump)}
		out, err := exec.CommandContext(ctx, filepath.Join(c.Bin, "ais-meta"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ais-meta %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		// A second restore into the now seeded directory is refused.
		if out, err := exec.CommandContext(ctx, filepath.Join(c.Bin, "ais-meta"), args...).CombinedOutput(); err == nil ||
			!strings.Contains(string(out), "already holds Raft state") {
			t.Fatalf("restore into a seeded directory: %v\n%s", err, out)
		}
	}
	t1 := time.Now()
	for _, p := range c.Meta {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.MetaLeader(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restored quorum leads after %s; epoch %d (backup %d, later %d)", time.Since(t1).Round(time.Millisecond),
		after.Epoch, before.Epoch, later.Epoch)
	if after.Epoch != before.Epoch+bump {
		t.Errorf("restored epoch %d, want %d", after.Epoch, before.Epoch+bump)
	}
	if diff := cmp.Diff(before.Nodes, after.Nodes); diff != "" {
		t.Errorf("cluster map differs after the restore (-backup +restored):\n%s", diff)
	}
	if diff := cmp.Diff(before.Buckets, after.Buckets); diff != "" {
		t.Errorf("buckets differ after the restore (-backup +restored):\n%s", diff)
	}
	if diff := cmp.Diff(before.Config, after.Config); diff != "" {
		t.Errorf("config differs after the restore (-backup +restored):\n%s", diff)
	}
	// Every member serves the same restored state.
	for i := range c.Meta {
		s, err := metaOnly(t, c, i).Snapshot(ctx)
		for err == nil && s.Epoch < after.Epoch {
			time.Sleep(50 * time.Millisecond)
			s, err = metaOnly(t, c, i).Snapshot(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(s.Buckets, before.Buckets) || !cmp.Equal(s.Nodes, before.Nodes) {
			t.Errorf("member %s serves another state", c.Meta[i].Name)
		}
	}

	// Gateways and targets, still running, follow the restored epoch; the data path works.
	for {
		h, err := cl.Health(ctx)
		if err == nil && h.Epoch >= after.Epoch {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the gateway did not follow the restored epoch: %v %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	names := bucketNames(ctx, t, cl)
	if want := []string{"alpha", "beta"}; !slices.Equal(names, want) {
		t.Errorf("buckets through the gateway: %v, want %v", names, want)
	}
	if _, err := getAndCompare(ctx, cl, "alpha", obj); err != nil {
		t.Errorf("object after the restore: %v", err)
	}
	obj2 := body{name: "new/after-restore", size: 5000, seed: 8}
	if _, err := cl.PutObject(ctx, "beta", obj2.name, obj2.reader(), obj2.size, nil); err != nil {
		t.Fatalf("PUT after the restore: %v", err)
	}
	if _, err := getAndCompare(ctx, cl, "beta", obj2); err != nil {
		t.Errorf("object written after the restore: %v", err)
	}
	// New writes to meta get indexes above the backup's: a new bucket's ID is larger than any.
	if err := cl.CreateBucket(ctx, "gamma", nil); err != nil {
		t.Fatal(err)
	}
	gb, err := cl.BucketProps(ctx, "gamma")
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range before.Buckets {
		if gb.ID <= bk.ID {
			t.Errorf("new bucket ID %d is not above %s's %d", gb.ID, bk.Name, bk.ID)
		}
	}
}

func bucketNames(ctx context.Context, t *testing.T, cl *api.Client) []string {
	t.Helper()
	bs, err := cl.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	sort.Strings(names)
	return names
}

func argOf(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOpsConfigFiles runs each daemon with --config and --print-config: the file's values show
// in the effective config, flags win over them, and bad config exits non-zero before anything
// starts with one line that names the key.
func TestOpsConfigFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	bin := cluster.Binaries(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	targetTOML := write("target.toml", "meta = [\"http://10.0.0.1:9080\", \"http://10.0.0.2:9080\"]\n"+
		"mountpath = [\"/ais/d1\", \"/ais/d2\"]\nlog-level = \"debug\"\nshutdown-timeout = \"25s\"\nleave-on-stop = false\n")
	gwYAML := write("gw.yaml", "meta: http://10.0.0.1:9080\nlisten: 0.0.0.0:8080\ndrain_wait: 5s\nproxy: true\n")
	metaTOML := write("meta.toml", "id = \"m1\"\ndir = \"/var/lib/ais/meta\"\npeers = \"m1=10.0.0.1:9180@10.0.0.1:9080\"\n"+
		"snapshot-threshold = 100\n")
	cases := []struct {
		name string
		args []string
		want []string // lines in the output
		code int
	}{
		{"target file", []string{"ais-target", "--config", targetTOML, "--print-config"},
			[]string{`meta = ["http://10.0.0.1:9080", "http://10.0.0.2:9080"]`, `mountpath = ["/ais/d1", "/ais/d2"]`,
				`log-level = "debug"`, `shutdown-timeout = "25s"`, `leave-on-stop = false`, `public = "127.0.0.1:9080"`}, 0},
		{"target flags win", []string{"ais-target", "--config", targetTOML, "--log-level", "warn", "--mountpath", "/x", "--print-config"},
			[]string{`log-level = "warn"`, `mountpath = ["/x"]`}, 0},
		{"target template", []string{"ais-target", "--print-config"}, []string{"# (required)", `# meta = []`, `log-level = "info"`}, 0},
		{"gateway yaml", []string{"ais-gw", "--config", gwYAML, "--print-config"},
			[]string{`meta = ["http://10.0.0.1:9080"]`, `listen = "0.0.0.0:8080"`, `drain-wait = "5s"`, `proxy = true`}, 0},
		{"meta file", []string{"ais-meta", "--config", metaTOML, "--print-config"},
			[]string{`id = "m1"`, `snapshot-threshold = 100`, `raft-heartbeat-timeout = "500ms"`}, 0},
		{"unknown key", []string{"ais-target", "--config", write("t1.toml", "mountpaths = [\"/a\"]\n"), "--print-config"},
			[]string{`unknown key "mountpaths" (did you mean "mountpath"?)`}, 1},
		{"bad enum", []string{"ais-gw", "--config", write("g1.yaml", "meta: http://x:1\nlog-level: loud\n")},
			[]string{`key "log-level": loud is not one of debug, info, warn, error`}, 1},
		{"bad duration", []string{"ais-meta", "--config", write("m1.toml", "id = \"m1\"\nraft-commit-timeout = \"soon\"\n")},
			[]string{`key "raft-commit-timeout"`, `invalid duration "soon"`}, 1},
		{"bad syntax", []string{"ais-target", "--config", write("t2.toml", "meta = [\n")}, []string{"TOML"}, 1},
		// A value the daemon's own validation refuses: it exits before it listens or writes.
		{"bad value", []string{"ais-target", "--config", write("t3.toml", "meta = [\"http://127.0.0.1:1\"]\nmountpath = [\"/ais/d1\", \"/ais/d1/x\"]\n")},
			[]string{"overlap"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := run(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			lines := strings.Split(out, "\n")
			for _, w := range tc.want {
				found := false
				for _, l := range lines {
					if strings.Contains(l, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("want one line of error, got:\n%s", out)
			}
		})
	}
	// The printed config is a config file: read back, it prints the same.
	first, _ := run("ais-target", "--config", targetTOML, "--print-config")
	again, code := run("ais-target", "--config", write("roundtrip.toml", first), "--print-config")
	if code != 0 || again != first {
		t.Errorf("print-config does not round-trip (exit %d):\n%s\n---\n%s", code, first, again)
	}
}
