package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

const testKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestParseObjectPath(t *testing.T) {
	tests := []struct {
		escaped      string
		bucket, obj  string
		wantErr      error
		wantErrMatch string
	}{
		{escaped: "/v1/objects/bkt/a.txt", bucket: "bkt", obj: "a.txt"},
		{escaped: "/v1/objects/bkt/dir/sub/a.txt", bucket: "bkt", obj: "dir/sub/a.txt"},
		{escaped: "/v1/objects/bkt/a%2Fb", bucket: "bkt", obj: "a/b"},
		{escaped: "/v1/objects/bkt/with%20space", bucket: "bkt", obj: "with space"},
		{escaped: "/v1/objects/bkt/pct%2525", bucket: "bkt", obj: "pct%25"},
		{escaped: "/v1/objects/bkt/q%3Fh%23", bucket: "bkt", obj: "q?h#"},
		{escaped: "/v1/objects/bkt/plus+sign", bucket: "bkt", obj: "plus+sign"},
		{escaped: "/v1/objects/bkt/%E6%97%A5%E6%9C%AC/%C3%A9", bucket: "bkt", obj: "日本/é"},
		{escaped: "/v1/objects/bkt/", wantErr: meta.ErrInvalidObjectName, wantErrMatch: "must not be empty"},
		{escaped: "/v1/objects/bkt", wantErr: meta.ErrInvalidObjectName},
		{escaped: "/v1/objects/bkt/a/../b", wantErr: meta.ErrInvalidObjectName, wantErrMatch: `".."`},
		{escaped: "/v1/objects/bkt/a%2F..%2Fb", wantErr: meta.ErrInvalidObjectName, wantErrMatch: `".."`},
		{escaped: "/v1/objects/bkt/a//b", wantErr: meta.ErrInvalidObjectName, wantErrMatch: "empty component"},
		{escaped: "/v1/objects/bkt/dir/", wantErr: meta.ErrInvalidObjectName},
		{escaped: "/v1/objects/bkt/%2Fabs", wantErr: meta.ErrInvalidObjectName, wantErrMatch: "start with '/'"},
		{escaped: "/v1/objects/bkt/nul%00", wantErr: meta.ErrInvalidObjectName, wantErrMatch: "NUL"},
		{escaped: "/v1/objects/bkt/bad%ff", wantErr: meta.ErrInvalidObjectName, wantErrMatch: "UTF-8"},
		{escaped: "/v1/objects/bkt/" + strings.Repeat("x", 1025), wantErr: meta.ErrInvalidObjectName, wantErrMatch: "1024"},
		{escaped: "/v1/objects/Bkt/a", wantErr: meta.ErrInvalidBucketName, wantErrMatch: "lowercase"},
		{escaped: "/v1/objects/b/a", wantErr: meta.ErrInvalidBucketName, wantErrMatch: "3 to 63"},
		{escaped: "/v1/objects/b%2Fc/a", wantErr: meta.ErrInvalidBucketName},
		{escaped: "/v1/objects//a", wantErr: meta.ErrInvalidBucketName},
	}
	for _, tt := range tests {
		t.Run(tt.escaped[:min(len(tt.escaped), 60)], func(t *testing.T) {
			b, o, err := parseObjectPath(tt.escaped)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErrMatch) {
					t.Fatalf("err %q does not name the rule %q", err, tt.wantErrMatch)
				}
				if got := api.StatusOf(err); got != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b != tt.bucket || o != tt.obj {
				t.Fatalf("got (%q, %q), want (%q, %q)", b, o, tt.bucket, tt.obj)
			}
		})
	}
}

// TestTargetURLRoundTrip builds signed target URLs for awkward names and checks what a target's
// HTTP server would see: the unescaped path equals the signed path, the signature verifies, and
// the client's extra query parameters arrive.
func TestTargetURLRoundTrip(t *testing.T) {
	s, err := api.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	names := []string{"a.txt", "dir/sub/a b.txt", "pct%25/%2F", "q?x=1#frag", "日本/é", "semi;colon,comma", "plus+&=", "tab\tname"}
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete} {
		for _, name := range names {
			t.Run(method+" "+name, func(t *testing.T) {
				extra := url.Values{"validate": {"true"}, api.QuerySig: {"forged"}}
				u, err := targetURL("http://10.0.0.7:9001/", method, "bkt", name, extra, 42, s, now.Add(time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(u, "http://10.0.0.7:9001/v1/objects/bkt/") {
					t.Fatalf("URL %q", u)
				}
				// What the target's server parses from the request line.
				pu, err := url.Parse(u)
				if err != nil {
					t.Fatal(err)
				}
				line := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, pu.RequestURI())
				req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(line)))
				if err != nil {
					t.Fatalf("request line %q: %v", line, err)
				}
				if want := "/v1/objects/bkt/" + name; req.URL.Path != want {
					t.Fatalf("target sees path %q, want %q", req.URL.Path, want)
				}
				epoch, err := s.Verify(method, req.URL.Path, req.URL.Query(), now)
				if err != nil || epoch != 42 {
					t.Fatalf("Verify = %d, %v", epoch, err)
				}
				if req.URL.Query().Get("validate") != "true" {
					t.Fatalf("extra query lost: %q", req.URL.RawQuery)
				}
				if _, err := s.Verify(method, req.URL.Path, req.URL.Query(), now.Add(2*time.Minute)); !errors.Is(err, meta.ErrPermission) {
					t.Fatalf("expired URL verified: %v", err)
				}
				// The gateway parses what the client sent it the same way.
				b, o, err := parseObjectPath(req.URL.EscapedPath())
				if err != nil || b != "bkt" || o != name {
					t.Fatalf("parseObjectPath(%q) = %q, %q, %v", req.URL.EscapedPath(), b, o, err)
				}
			})
		}
	}
}

func TestTargetURLBadBase(t *testing.T) {
	s, _ := api.NewSigner(testKey)
	for _, base := range []string{"", "10.0.0.1:9000", "ftp://h:1", "http://"} {
		if _, err := targetURL(base, "GET", "bkt", "o", nil, 1, s, time.Now()); !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("targetURL(%q) err = %v, want ErrUnavailable", base, err)
		}
	}
}

func TestTargetQuery(t *testing.T) {
	in := url.Values{"proxy": {"true"}, "validate": {"true"}, api.QuerySig: {"x"}, api.QueryEpoch: {"9"}, api.QueryExpires: {"1"}}
	got := targetQuery(in)
	if len(got) != 1 || got.Get("validate") != "true" {
		t.Fatalf("targetQuery = %v", got)
	}
}

func testSnapshot(targets ...string) *meta.Snapshot {
	s := meta.NewSnapshot()
	s.Epoch = 5
	s.Config.SigningKey = testKey
	for i, id := range targets {
		s.Nodes[id] = meta.Node{ID: id, Role: meta.RoleTarget, State: meta.NodeActive,
			PublicURL:  fmt.Sprintf("http://127.0.0.1:%d", 19000+i),
			ControlURL: fmt.Sprintf("http://127.0.0.1:%d", 19100+i), Mountpaths: []string{"/mp"}}
	}
	s.Nodes["gw1"] = meta.Node{ID: "gw1", Role: meta.RoleGateway, State: meta.NodeActive, PublicURL: "http://127.0.0.1:8080"}
	b := meta.Bucket{Provider: meta.ProviderAIS, Name: "bkt", ID: 1, Props: meta.DefaultBucketProps()}
	s.Buckets[b.Key()] = b
	return s
}

// TestRouteObjectOwner checks that routing picks the HRW owner over the active targets only,
// and that the redirect goes to that owner's public URL.
func TestRouteObjectOwner(t *testing.T) {
	snap := testSnapshot("t1", "t2", "t3", "t4")
	down := snap.Nodes["t3"]
	down.State = meta.NodeDown
	snap.Nodes["t3"] = down
	v := api.NewView(snap)
	s, _ := api.NewSigner(testKey)
	b, _ := snap.Bucket(meta.ProviderAIS, "bkt")
	counts := map[string]int{}
	for i := range 400 {
		name := fmt.Sprintf("dir/obj-%03d", i)
		rt, err := routeObject(v, s, http.MethodGet, b, name, nil, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := meta.NewPlacement(snap.ActiveTargets()).Owner("ais/bkt/" + name)
		if rt.Owner.ID != want.ID {
			t.Fatalf("%s: owner %s, want %s", name, rt.Owner.ID, want.ID)
		}
		if !strings.HasPrefix(rt.URL, want.PublicURL+"/v1/objects/bkt/dir/obj-") {
			t.Fatalf("%s: URL %s does not go to %s", name, rt.URL, want.PublicURL)
		}
		counts[rt.Owner.ID]++
	}
	if counts["t3"] != 0 {
		t.Fatalf("a down target owns %d objects", counts["t3"])
	}
	if len(counts) != 3 {
		t.Fatalf("objects spread over %v, want the 3 active targets", counts)
	}
}

func TestRouteObjectNoTargets(t *testing.T) {
	snap := testSnapshot()
	v := api.NewView(snap)
	s, _ := api.NewSigner(testKey)
	b, _ := snap.Bucket(meta.ProviderAIS, "bkt")
	_, err := routeObject(v, s, http.MethodGet, b, "o", nil, time.Now())
	if !errors.Is(err, meta.ErrNoTargets) || api.StatusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("err = %v (status %d), want NoTargets 503", err, api.StatusOf(err))
	}
}

// TestProxyTarget checks that a proxied request goes to the owner's data listener with the
// same signed path and query, and to its public listener when it advertises no data URL.
func TestProxyTarget(t *testing.T) {
	snap := testSnapshot("t1")
	v := api.NewView(snap)
	s, _ := api.NewSigner(testKey)
	b, _ := snap.Bucket(meta.ProviderAIS, "bkt")
	rt, err := routeObject(v, s, http.MethodGet, b, "dir/a b", nil, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse(rt.URL)
	u, err := rt.proxyTarget(false)
	if err != nil {
		t.Fatal(err)
	}
	if u.String() != rt.URL {
		t.Fatalf("without a data URL: %s, want the public URL %s", u, rt.URL)
	}
	rt.Owner.DataURL = "http://127.0.0.2:19200"
	if u, err = rt.proxyTarget(false); err != nil {
		t.Fatal(err)
	}
	if u.Host != "127.0.0.2:19200" || u.EscapedPath() != pub.EscapedPath() || u.RawQuery != pub.RawQuery {
		t.Fatalf("proxied URL %s, want %s on 127.0.0.2:19200", u, rt.URL)
	}
	if u, err = rt.proxyTarget(true); err != nil || u.String() != rt.URL {
		t.Fatalf("with ProxyToPublic: %v %v, want the public URL %s", u, err, rt.URL)
	}
}
