package gateway

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newTestGateway returns a gateway whose meta does not answer; tests give it an epoch with
// snap (if not nil) as if the follower had fetched it. Only paths that need no meta call are
// exercised here; the real cluster test covers the rest.
func newTestGateway(t *testing.T, snap *meta.Snapshot, proxy bool) *Gateway {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = "gw-test"
	cfg.MetaURLs = []string{"http://" + closedAddr(t)}
	cfg.EpochWait = 50 * time.Millisecond
	cfg.Proxy = proxy
	cfg.Now = func() time.Time { return time.Unix(1_700_000_000, 0) }
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap != nil {
		g.follower.Store(snap)
	}
	return g
}

type answer struct {
	status int
	header http.Header
	body   string
	err    api.Error
}

func do(t *testing.T, g *Gateway, method, target string, body io.Reader, hdr ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if rec.Code >= 400 && a.body != "" {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.err); err != nil {
			t.Fatalf("%s %s: error body %q is not JSON: %v", method, target, a.body, err)
		}
	}
	if a.header.Get(api.HeaderRequestID) == "" {
		t.Fatalf("%s %s: no %s header", method, target, api.HeaderRequestID)
	}
	return a
}

func TestErrorsAtTheEdge(t *testing.T) {
	g := newTestGateway(t, nil, false)
	tests := []struct {
		method, target string
		status         int
		code           string
	}{
		{"GET", "/v1/nope", 404, "NotFound"},
		{"POST", "/v1/objects/bkt/a", 405, "MethodNotAllowed"},
		{"POST", "/v1/buckets/bkt", 405, "MethodNotAllowed"},
		{"PUT", "/v1/buckets/BAD", 400, "InvalidBucketName"},
		{"PUT", "/v1/buckets/a..b", 400, "InvalidBucketName"},
		{"GET", "/v1/buckets/x/props", 400, "InvalidBucketName"},
		{"DELETE", "/v1/buckets/-x-", 400, "InvalidBucketName"},
		{"GET", "/v1/objects/bkt/a/../b", 400, "InvalidObjectName"},
		{"PUT", "/v1/objects/bkt/a%00b", 400, "InvalidObjectName"},
		{"GET", "/v1/objects/bkt/", 400, "InvalidObjectName"},
		{"GET", "/v1/objects/NO/x", 400, "InvalidBucketName"},
		{"GET", "/v1/buckets/bkt?limit=1&token=%%%", 400, "InvalidRequest"},
		{"GET", "/v1/buckets/bkt?limit=-5", 400, "InvalidRequest"},
		{"POST", "/v1/cluster/nodes/bad%20id/state", 400, "InvalidNode"},
		{"POST", "/v1/cluster/nodes/t1/state", 400, "InvalidRequest"}, // no body
		{"GET", "/v1/health", 503, "Unavailable"},
		{"GET", "/v1/objects/bkt/obj", 503, "Unavailable"}, // no epoch yet
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			a := do(t, g, tt.method, tt.target, nil)
			if a.status != tt.status || a.err.Code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", a.status, a.err.Code, a.body, tt.status, tt.code)
			}
			if a.err.RequestID != a.header.Get(api.HeaderRequestID) {
				t.Fatalf("request_id %q, header %q", a.err.RequestID, a.header.Get(api.HeaderRequestID))
			}
		})
	}
	t.Run("HEAD errors have no body", func(t *testing.T) {
		a := do(t, g, "HEAD", "/v1/buckets/BAD", nil)
		if a.status != 400 || a.body != "" || a.header.Get(api.HeaderErrorCode) != "InvalidBucketName" {
			t.Fatalf("got %d %q code %q", a.status, a.body, a.header.Get(api.HeaderErrorCode))
		}
	})
}

func TestBucketReadsFromEpoch(t *testing.T) {
	g := newTestGateway(t, testSnapshot("t1", "t2"), false)
	a := do(t, g, "GET", "/v1/health", nil)
	var h api.Health
	if err := json.Unmarshal([]byte(a.body), &h); err != nil || a.status != 200 || h.Epoch != 5 || h.Role != "gateway" || h.Node != "gw-test" {
		t.Fatalf("health: %d %s", a.status, a.body)
	}
	if a := do(t, g, "HEAD", "/v1/buckets/bkt", nil); a.status != 200 || a.body != "" {
		t.Fatalf("HEAD bucket: %d %q", a.status, a.body)
	}
	a = do(t, g, "GET", "/v1/buckets/bkt/props", nil)
	var b meta.Bucket
	if err := json.Unmarshal([]byte(a.body), &b); err != nil || a.status != 200 || b.Name != "bkt" || b.Props.Checksum.Type != meta.ChecksumHighway {
		t.Fatalf("props: %d %s", a.status, a.body)
	}
	if a := do(t, g, "GET", "/v1/buckets/bkt?limit=x", nil); a.status != 400 || a.err.Code != "InvalidRequest" {
		t.Fatalf("bad limit: %d %s", a.status, a.body)
	}
	// The targets' control ports do not answer: the listing fails (503), it is never silently short.
	if a := do(t, g, "GET", "/v1/buckets/bkt", nil); a.status != 503 {
		t.Fatalf("list with unreachable targets: %d %s", a.status, a.body)
	}
}

func TestObjectRedirect(t *testing.T) {
	snap := testSnapshot("t1", "t2", "t3")
	g := newTestGateway(t, snap, false)
	s, _ := api.NewSigner(testKey)
	now := g.cfg.Now()
	for _, method := range []string{"GET", "PUT", "HEAD", "DELETE"} {
		for _, name := range []string{"plain", "dir/a b/c%d", "日本"} {
			t.Run(method+" "+name, func(t *testing.T) {
				target := api.ObjectPath("bkt", name) + "?validate=true&proxy=false"
				var body io.Reader
				hdr := []string{}
				if method == "PUT" {
					// The redirect must come before the body is read.
					body = &failReader{t: t}
					hdr = []string{"Expect", "100-continue"}
				}
				a := do(t, g, method, target, body, hdr...)
				if a.status != http.StatusTemporaryRedirect {
					t.Fatalf("status %d %s", a.status, a.body)
				}
				loc, err := url.Parse(a.header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				owner, _ := meta.NewPlacement(snap.ActiveTargets()).Owner("ais/bkt/" + name)
				if "http://"+loc.Host != owner.PublicURL {
					t.Fatalf("redirect to %s, owner is %s", loc.Host, owner.PublicURL)
				}
				if loc.Path != "/v1/objects/bkt/"+name {
					t.Fatalf("path %q", loc.Path)
				}
				q := loc.Query()
				if ep, err := s.Verify(method, loc.Path, q, now.Add(4*time.Minute)); err != nil || ep != 5 {
					t.Fatalf("signature: %d %v", ep, err)
				}
				if _, err := s.Verify(method, loc.Path, q, now.Add(6*time.Minute)); err == nil {
					t.Fatal("signed URL outlives the redirect TTL")
				}
				if q.Get("validate") != "true" || q.Has("proxy") {
					t.Fatalf("query %q", loc.RawQuery)
				}
				if a.header.Get(api.HeaderEpoch) != "5" {
					t.Fatalf("Ais-Epoch %q", a.header.Get(api.HeaderEpoch))
				}
			})
		}
	}
}

type failReader struct{ t *testing.T }

func (f *failReader) Read([]byte) (int, error) {
	f.t.Error("the gateway read a PUT body it redirects")
	return 0, io.EOF
}

func TestObjectRoutingFailures(t *testing.T) {
	t.Run("no active targets", func(t *testing.T) {
		g := newTestGateway(t, testSnapshot(), false)
		if a := do(t, g, "GET", "/v1/objects/bkt/o", nil); a.status != 503 || a.err.Code != "NoTargets" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("no signing key yet", func(t *testing.T) {
		snap := testSnapshot("t1")
		snap.Config.SigningKey = ""
		g := newTestGateway(t, snap, false)
		if a := do(t, g, "GET", "/v1/objects/bkt/o", nil); a.status != 503 || a.err.Code != "Unavailable" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("proxy to an unreachable target", func(t *testing.T) {
		snap := testSnapshot("t1")
		n := snap.Nodes["t1"]
		n.PublicURL = "http://" + closedAddr(t)
		snap.Nodes["t1"] = n
		for _, g := range []*Gateway{newTestGateway(t, snap, true), newTestGateway(t, snap, false)} {
			target := "/v1/objects/bkt/o"
			if !g.cfg.Proxy {
				target += "?proxy=true"
			}
			a := do(t, g, "PUT", target, strings.NewReader("data"))
			if a.status != 503 || a.err.Code != "Unavailable" || a.header.Get("Location") != "" {
				t.Fatalf("proxy=%v: %d %s", g.cfg.Proxy, a.status, a.body)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.ID, ok.MetaURLs = "gw1", []string{"http://127.0.0.1:7000"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no id", func(c *Config) { c.ID = "" }},
		{"bad id", func(c *Config) { c.ID = "g w" }},
		{"no meta", func(c *Config) { c.MetaURLs = nil }},
		{"bad listen", func(c *Config) { c.Listen = "8080" }},
		{"bad public url", func(c *Config) { c.PublicURL = "ftp://x" }},
		{"no clock", func(c *Config) { c.Now = nil }},
		{"zero wait", func(c *Config) { c.EpochWait = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("Validate accepted it")
			}
			if _, err := New(c, nil); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
