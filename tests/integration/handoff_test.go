package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// TestHandoff: a proxy-mode gateway sends GETs for targets on its machine over their same-host
// hand-off (the target's open file, sent by sendfile), with the same bytes, ranges, headers,
// validation and errors as over TCP; a target started with --no-handoff advertises none and is
// proxied over TCP, as is every target of a gateway started with --no-handoff.
func TestHandoff(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 1, Targets: 1, Mountpaths: 1, Gateways: 1, Proxy: true})
	c.Spec.TargetArgs = []string{"--no-handoff"}
	c.AddTarget(t)
	c.Spec.GatewayArgs = []string{"--no-handoff"}
	c.AddGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, c, 0)
	info, err := cl.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var targets []meta.Node
	for _, n := range info.Nodes {
		if n.Role != meta.RoleTarget {
			continue
		}
		targets = append(targets, n)
		if want := n.ID == "t0"; (n.Handoff != "" && n.BootID != "") != want {
			t.Fatalf("target %s advertises hand-off %q, boot ID %q; want one only on t0", n.ID, n.Handoff, n.BootID)
		}
	}
	placement := meta.NewPlacement(targets)

	if err := cl.CreateBucket(ctx, "hand", nil); err != nil {
		t.Fatal(err)
	}
	var objs []body
	for i, size := range []int64{0, 1, 4097, 1<<20 + 3, 3 << 20, 5, 70000, 2<<20 + 1, 300, 1 << 20} {
		objs = append(objs, body{name: fmt.Sprintf("o%02d", i), size: size, seed: uint64(i)})
	}
	putAll(ctx, t, cl, "hand", objs)

	// fileGets counts the GETs that t0 answers with its file: those with bytes to send.
	fileGets := 0
	type rangeCase struct {
		header string
		status int
		want   []byte
	}
	check := func(gw string) {
		t.Helper()
		for _, o := range objs {
			whole := o.bytes()
			ranges := []rangeCase{{"", http.StatusOK, whole}}
			if o.size > 20 {
				ranges = append(ranges, rangeCase{"bytes=5-20", http.StatusPartialContent, whole[5:21]},
					rangeCase{"bytes=-7", http.StatusPartialContent, whole[o.size-7:]})
			}
			for _, validate := range []bool{false, true} {
				for _, rg := range ranges {
					u := gw + "/v1/objects/hand/" + o.name
					if validate {
						u += "?validate=true"
					}
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
					if rg.header != "" {
						req.Header.Set("Range", rg.header)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != rg.status || !bytes.Equal(b, rg.want) {
						t.Fatalf("GET %s (%s): %d, %d bytes, %v; want %d, %d bytes", u, rg.header, resp.StatusCode,
							len(b), err, rg.status, len(rg.want))
					}
					if resp.Header.Get("Etag") == "" || resp.Header.Get(api.HeaderChecksumValue) == "" {
						t.Fatalf("GET %s: the object's headers are missing: %v", u, resp.Header)
					}
					if owner, _ := placement.Owner(meta.ObjectKey("ais/hand", o.name)); owner.ID == "t0" && o.size > 0 {
						fileGets++
					}
				}
			}
		}
		for _, tc := range []struct {
			path, rng, code string
			status          int
		}{{"/v1/objects/hand/nothing", "", "ObjectNotFound", 404}, {"/v1/objects/hand/o04", "bytes=9999999-", "", 416},
			{"/v1/objects/nobucket/o01", "", "BucketNotFound", 404}} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw+tc.path, nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get(api.HeaderErrorCode) != tc.code && tc.code != "" {
				t.Fatalf("GET %s (%s): %d %s, want %d %s", tc.path, tc.rng, resp.StatusCode,
					resp.Header.Get(api.HeaderErrorCode), tc.status, tc.code)
			}
		}
	}
	check(c.GatewayURLs[0])
	if fileGets == 0 {
		t.Fatal("no object landed on t0: the test proves nothing")
	}
	fams := scrape(ctx, t, c.GatewayURLs[0]+"/v1/metrics")
	file := sample(fams, "ais_gw_handoff_gets_total", map[string]string{"answer": "file"})
	failed := sample(fams, "ais_gw_handoff_gets_total", map[string]string{"answer": "failed"})
	if int(file) != fileGets || failed != 0 {
		t.Fatalf("g0 sent %v GETs from t0's files (%v hand-offs failed), want %d (0)", file, failed, fileGets)
	}

	check(c.GatewayURLs[1]) // the same answers over TCP
	if fams := scrape(ctx, t, c.GatewayURLs[1]+"/v1/metrics"); fams["ais_gw_handoff_gets_total"] != nil {
		t.Fatal("the gateway started with --no-handoff reports hand-offs")
	}
}
