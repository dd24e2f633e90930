package target

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

const testKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

type testTarget struct {
	srv    *Server
	pub    *httptest.Server
	ctl    *httptest.Server
	signer *api.Signer
	mps    []string
}

func newTestTarget(t *testing.T) *testTarget {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = "t1"
	cfg.MetaURLs = []string{"http://127.0.0.1:1"}
	cfg.PublicAddr, cfg.ControlAddr, cfg.DataAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Mountpaths = tempMountpaths(t, 2)
	cfg.EpochWait = 300 * time.Millisecond
	s, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := api.NewSigner(testKey)
	tt := &testTarget{srv: s, signer: signer, mps: cfg.Mountpaths,
		pub: httptest.NewServer(s.PublicHandler()), ctl: httptest.NewServer(s.ControlHandler())}
	t.Cleanup(tt.pub.Close)
	t.Cleanup(tt.ctl.Close)
	s.Follower().Store(testSnapshot(5, testBucket("bkt", 1, "")))
	return tt
}

// testSnapshot has two active targets, t1 (under test) and t2, and the given buckets.
func testSnapshot(epoch uint64, buckets ...*meta.Bucket) *meta.Snapshot {
	s := snapshotWith(epoch, buckets...)
	s.Config.SigningKey = testKey
	for _, id := range []string{"t1", "t2"} {
		s.Nodes[id] = meta.Node{ID: id, Role: meta.RoleTarget, State: meta.NodeActive,
			PublicURL: "http://" + id + ":1", Mountpaths: []string{"/x"}}
	}
	return s
}

// ownedBy returns a name with the prefix that the given target owns in the current view.
func (tt *testTarget) ownedBy(t *testing.T, owner, prefix string) string {
	v := tt.srv.Follower().Current()
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		if n, _ := v.Placement.Owner(meta.ObjectKey("ais/bkt", name)); n.ID == owner {
			return name
		}
	}
}

// request builds a request for /v1/objects/{bucket}/{object}, signed for signMethod ("" for
// unsigned) at epoch.
func (tt *testTarget) request(t *testing.T, method, signMethod, bucket, object string, epoch uint64, body io.Reader) *http.Request {
	t.Helper()
	path := "/v1/objects/" + bucket + "/" + object
	u := tt.pub.URL + (&url.URL{Path: path}).EscapedPath()
	if signMethod != "" {
		u += "?" + tt.signer.Sign(signMethod, path, epoch, time.Now().Add(time.Minute)).Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (tt *testTarget) put(t *testing.T, name, data string) *http.Response {
	t.Helper()
	resp, body := do(t, tt.request(t, http.MethodPut, http.MethodPut, "bkt", name, 5, strings.NewReader(data)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put %s: %s %s", name, resp.Status, body)
	}
	return resp
}

func (tt *testTarget) get(t *testing.T, name string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req := tt.request(t, http.MethodGet, http.MethodGet, "bkt", name, 5, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

// wantError checks an error answer's status and JSON code.
func wantError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %s, want %d %s (body %s)", resp.Status, status, code, body)
	}
	if got := resp.Header.Get(api.HeaderErrorCode); got != code {
		t.Fatalf("%s header %q, want %q", api.HeaderErrorCode, got, code)
	}
	if resp.Request.Method == http.MethodHead {
		return
	}
	var e api.Error
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != code || e.Status != status {
		t.Fatalf("error body %s, want code %s", body, code)
	}
}

func TestHTTPObjectLifecycle(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "dir/ünï cødé?&%/obj-")
	data := "hello, object"
	resp := tt.put(t, name, data)
	h, _ := codec.NewHash(meta.ChecksumHighway)
	h.Write([]byte(data))
	sum := fmt.Sprintf("%x", h.Sum(nil))
	for k, want := range map[string]string{api.HeaderChecksumType: "highway", api.HeaderChecksumValue: sum,
		api.HeaderVersion: "1", "ETag": `"` + sum + `"`, api.HeaderEpoch: "5"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("PUT %s = %q, want %q", k, got, want)
		}
	}

	resp, body := tt.get(t, name)
	if resp.StatusCode != http.StatusOK || body != data {
		t.Fatalf("GET: %s %q", resp.Status, body)
	}
	for k, want := range map[string]string{api.HeaderChecksumType: "highway", api.HeaderChecksumValue: sum,
		api.HeaderVersion: "1", "ETag": `"` + sum + `"`, "Content-Length": fmt.Sprint(len(data)),
		api.HeaderEpoch: "5", "Content-Type": "application/octet-stream"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("GET %s = %q, want %q", k, got, want)
		}
	}
	if _, err := http.ParseTime(resp.Header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q: %v", resp.Header.Get("Last-Modified"), err)
	}

	// HEAD passes on a URL signed for GET.
	resp, body = do(t, tt.request(t, http.MethodHead, http.MethodGet, "bkt", name, 5, nil))
	if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength != int64(len(data)) ||
		resp.Header.Get(api.HeaderVersion) != "1" {
		t.Fatalf("HEAD: %s len %d %v", resp.Status, resp.ContentLength, resp.Header)
	}

	tt.put(t, name, "second")
	if resp, body = tt.get(t, name); body != "second" || resp.Header.Get(api.HeaderVersion) != "2" {
		t.Fatalf("after overwrite: %q v%s", body, resp.Header.Get(api.HeaderVersion))
	}

	resp, body = do(t, tt.request(t, http.MethodDelete, http.MethodDelete, "bkt", name, 5, nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %s %s", resp.Status, body)
	}
	resp, body = tt.get(t, name)
	wantError(t, resp, body, http.StatusNotFound, "ObjectNotFound")
	resp, body = do(t, tt.request(t, http.MethodHead, http.MethodHead, "bkt", name, 5, nil))
	wantError(t, resp, body, http.StatusNotFound, "ObjectNotFound")
	resp, body = do(t, tt.request(t, http.MethodDelete, http.MethodDelete, "bkt", name, 5, nil))
	wantError(t, resp, body, http.StatusNotFound, "ObjectNotFound")
}

func TestHTTPEmptyObject(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "empty")
	tt.put(t, name, "")
	resp, body := tt.get(t, name)
	if resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("Content-Length") != "0" {
		t.Fatalf("GET empty: %s %q %v", resp.Status, body, resp.Header)
	}
}

func TestHTTPAdmission(t *testing.T) {
	tt := newTestTarget(t)
	mine, theirs := tt.ownedBy(t, "t1", "o"), tt.ownedBy(t, "t2", "o")
	tt.put(t, mine, "x")
	expired := func() *http.Request {
		path := "/v1/objects/bkt/" + mine
		q := tt.signer.Sign(http.MethodGet, path, 5, time.Now().Add(-time.Minute))
		req, _ := http.NewRequest(http.MethodGet, tt.pub.URL+path+"?"+q.Encode(), nil)
		return req
	}
	otherKey := func() *http.Request {
		sg, _ := api.NewSigner(strings.Repeat("11", 32))
		path := "/v1/objects/bkt/" + mine
		q := sg.Sign(http.MethodGet, path, 5, time.Now().Add(time.Minute))
		req, _ := http.NewRequest(http.MethodGet, tt.pub.URL+path+"?"+q.Encode(), nil)
		return req
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"unsigned", tt.request(t, http.MethodGet, "", "bkt", mine, 5, nil), 403, "AccessDenied"},
		{"signed for another method", tt.request(t, http.MethodDelete, http.MethodGet, "bkt", mine, 5, nil), 403, "AccessDenied"},
		{"signed for another path", tt.request(t, http.MethodGet, http.MethodGet, "bkt", mine+"x", 5, nil), 0, ""},
		{"expired", expired(), 403, "AccessDenied"},
		{"another key", otherKey(), 403, "AccessDenied"},
		{"not the owner", tt.request(t, http.MethodGet, http.MethodGet, "bkt", theirs, 5, nil), 421, "StaleEpoch"},
		{"no such bucket", tt.request(t, http.MethodGet, http.MethodGet, "nobkt", mine, 5, nil), 404, "BucketNotFound"},
		{"bad bucket name", tt.request(t, http.MethodGet, http.MethodGet, "B!", mine, 5, nil), 400, "InvalidBucketName"},
		{"dot-dot", tt.request(t, http.MethodGet, http.MethodGet, "bkt", "a/../../x", 5, nil), 400, "InvalidObjectName"},
		{"empty name", tt.request(t, http.MethodGet, http.MethodGet, "bkt", "", 5, nil), 400, "InvalidObjectName"},
		{"epoch never reached", tt.request(t, http.MethodGet, http.MethodGet, "bkt", mine, 99, nil), 503, "Unavailable"},
	}
	// The path signed for "mine"+"x" is used with that path; make it a real mismatch instead.
	tests[2].req.URL.Path = "/v1/objects/bkt/" + mine
	tests[2].req.URL.RawPath = ""
	tests[2].status, tests[2].code = 403, "AccessDenied"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.req)
			wantError(t, resp, body, tc.status, tc.code)
		})
	}
	// Routes and methods the target does not have.
	resp, body := do(t, mustRequest(t, http.MethodPost, tt.request(t, http.MethodGet, http.MethodGet, "bkt", mine, 5, nil).URL.String()))
	wantError(t, resp, body, 405, "MethodNotAllowed")
	resp, body = do(t, mustRequest(t, http.MethodGet, tt.pub.URL+"/v1/nothing"))
	wantError(t, resp, body, 404, "NotFound")
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestHTTPWaitsForNewerEpoch(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "o")
	go func() {
		time.Sleep(50 * time.Millisecond)
		tt.srv.Follower().Store(testSnapshot(6, testBucket("bkt", 1, "")))
	}()
	resp, body := do(t, tt.request(t, http.MethodPut, http.MethodPut, "bkt", name, 6, strings.NewReader("x")))
	if resp.StatusCode != http.StatusOK || resp.Header.Get(api.HeaderEpoch) != "6" {
		t.Fatalf("%s %s epoch %s", resp.Status, body, resp.Header.Get(api.HeaderEpoch))
	}
}

func TestHTTPChecksums(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "c")
	tt.put(t, name, "original")
	put := func(data string, hdr ...string) (*http.Response, string) {
		req := tt.request(t, http.MethodPut, http.MethodPut, "bkt", name, 5, strings.NewReader(data))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return do(t, req)
	}
	crc := func(s string) string {
		h, _ := codec.NewHash(meta.ChecksumCRC32C)
		h.Write([]byte(s))
		return fmt.Sprintf("%X", h.Sum(nil))
	}
	resp, body := put("new data", api.HeaderChecksumType, "crc32c", api.HeaderChecksumValue, crc("other data"))
	wantError(t, resp, body, 400, "BadDigest")
	if _, got := tt.get(t, name); got != "original" {
		t.Fatalf("after bad digest the object is %q", got)
	}
	resp, body = put("new data", api.HeaderChecksumType, "crc64", api.HeaderChecksumValue, "00")
	wantError(t, resp, body, 400, "InvalidRequest")
	resp, body = put("new data", api.HeaderChecksumType, "md5", api.HeaderChecksumValue, "not hex")
	wantError(t, resp, body, 400, "InvalidRequest")
	resp, body = put("new data", api.HeaderChecksumType, "crc32c", api.HeaderChecksumValue, crc("new data"))
	if resp.StatusCode != 200 || resp.Header.Get(api.HeaderVersion) != "2" {
		t.Fatalf("good digest: %s %s", resp.Status, body)
	}
}

func TestHTTPShortBody(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "short")
	tt.put(t, name, "old")
	req := tt.request(t, http.MethodPut, http.MethodPut, "bkt", name, 5, nil)
	conn, err := net.Dial("tcp", tt.pub.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b", req.URL.RequestURI())
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	wantError(t, resp, string(body), 400, "IncompleteBody")
	if _, got := tt.get(t, name); got != "old" {
		t.Fatalf("object is now %q", got)
	}
	for _, mp := range tt.mps {
		if e := entries(t, mp+"/"+workDir); len(e) != 0 {
			t.Fatalf("work files left: %v", e)
		}
	}
}

func TestHTTPRanges(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "r")
	tt.put(t, name, "0123456789")
	tests := []struct {
		rng, body, contentRange string
		status                  int
	}{
		{"bytes=0-0", "0", "bytes 0-0/10", 206},
		{"bytes=-5", "56789", "bytes 5-9/10", 206},
		{"bytes=5-", "56789", "bytes 5-9/10", 206},
		{"bytes=2-4", "234", "bytes 2-4/10", 206},
		{"bytes=8-100", "89", "bytes 8-9/10", 206},
		{"bytes=0-1,4-5", "0123456789", "", 200},
		{"bytes=999-", "", "bytes */10", 416},
	}
	for _, tc := range tests {
		t.Run(tc.rng, func(t *testing.T) {
			resp, body := tt.get(t, name, "Range", tc.rng)
			if tc.status == 416 {
				wantError(t, resp, body, 416, "InvalidRange")
			} else if resp.StatusCode != tc.status || body != tc.body {
				t.Fatalf("%s %q, want %d %q", resp.Status, body, tc.status, tc.body)
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
				t.Fatalf("Content-Range %q, want %q", got, tc.contentRange)
			}
			if tc.status != 416 && resp.ContentLength != int64(len(tc.body)) {
				t.Fatalf("Content-Length %d", resp.ContentLength)
			}
		})
	}
}

func TestHTTPValidateRead(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "v")
	tt.put(t, name, "0123456789")
	mp := meta.Mountpath(meta.ObjectKey("ais/bkt", name), tt.mps)
	f, err := os.OpenFile(mp+"/@ais/bkt/"+name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 0)
	f.Close()

	// Without validation the stored bytes go out as they are.
	if resp, body := tt.get(t, name); resp.StatusCode != 200 || body != "X123456789" {
		t.Fatalf("unvalidated GET: %s %q", resp.Status, body)
	}
	req := tt.request(t, http.MethodGet, http.MethodGet, "bkt", name, 5, nil)
	req.URL.RawQuery += "&validate=true"
	resp, body := do(t, req)
	wantError(t, resp, body, 500, "Corrupt")

	// The bucket property does the same for every GET.
	tt.srv.Follower().Store(testSnapshot(6, testBucket("bkt", 1, `{"checksum":{"validate_read":true}}`)))
	resp, body = tt.get(t, name)
	wantError(t, resp, body, 500, "Corrupt")
}

func TestHTTPBucketDestroyAndRecreate(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "d")
	tt.put(t, name, "x")
	tt.srv.Follower().Store(testSnapshot(6))
	resp, body := tt.get(t, name)
	wantError(t, resp, body, 404, "BucketNotFound")
	for _, mp := range tt.mps {
		if e := entries(t, mp+"/@ais"); len(e) != 0 {
			t.Fatalf("%s/@ais still holds %v", mp, e)
		}
	}
	tt.srv.Follower().Store(testSnapshot(7, testBucket("bkt", 2, "")))
	resp, body = tt.get(t, name)
	wantError(t, resp, body, 404, "ObjectNotFound")
}

func TestHTTPControlList(t *testing.T) {
	tt := newTestTarget(t)
	var names []string
	for i := range 5 {
		n := tt.ownedBy(t, "t1", fmt.Sprintf("l%d-", i))
		tt.put(t, n, n)
		names = append(names, n)
	}
	list := func(query string, hdr ...string) (*http.Response, api.ObjectList, string) {
		req := mustRequest(t, http.MethodGet, tt.ctl.URL+"/v1/internal/objects/bkt?"+query)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, body := do(t, req)
		var ol api.ObjectList
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(body), &ol); err != nil {
				t.Fatal(err)
			}
		}
		return resp, ol, body
	}
	var got []string
	token := ""
	for {
		resp, ol, body := list("limit=2&start_after=" + url.QueryEscape(token))
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s", resp.Status, body)
		}
		for _, e := range ol.Entries {
			got = append(got, e.Name)
			if e.Size != int64(len(e.Name)) || e.Version != 1 || !strings.HasPrefix(e.Checksum, "highway:") || e.Mtime == 0 {
				t.Fatalf("entry %+v", e)
			}
		}
		if ol.NextToken == "" {
			break
		}
		token = ol.NextToken
	}
	if fmt.Sprint(got) != fmt.Sprint(names) {
		t.Fatalf("listed %v, want %v", got, names)
	}
	if _, ol, _ := list("prefix=l3-"); len(ol.Entries) != 1 || ol.Entries[0].Name != names[3] || ol.NextToken != "" {
		t.Fatalf("prefix: %+v", ol)
	}
	if _, ol, body := list("prefix=nothing"); ol.Entries == nil || !strings.Contains(body, `"entries":[]`) {
		t.Fatalf("empty listing body %s", body)
	}
	resp, _, body := list("limit=x")
	wantError(t, resp, body, 400, "InvalidRequest")
	resp, _, body = list("", api.HeaderEpoch, "99")
	wantError(t, resp, body, 503, "Unavailable")
	resp, body = do(t, mustRequest(t, http.MethodGet, tt.ctl.URL+"/v1/internal/objects/nobkt"))
	wantError(t, resp, body, 404, "BucketNotFound")
}

func TestHTTPHealth(t *testing.T) {
	tt := newTestTarget(t)
	for _, h := range []http.Handler{tt.srv.PublicHandler(), tt.srv.ControlHandler(), tt.srv.DataHandler()} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/health", nil))
		var got api.Health
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if got != (api.Health{Status: "ok", Node: "t1", Role: "target", Epoch: 5}) {
			t.Fatalf("health %+v", got)
		}
	}
}

// TestRunServesAndStops starts the whole daemon against a meta URL nobody answers: the
// listeners serve, joining keeps failing quietly, and cancelling stops everything.
func TestRunServesAndStops(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MetaURLs = []string{"http://127.0.0.1:1"}
	cfg.PublicAddr, cfg.ControlAddr, cfg.DataAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Mountpaths = tempMountpaths(t, 1)
	s, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	n := s.Node()
	if n.ID != s.ID() || n.Role != meta.RoleTarget || !strings.HasPrefix(n.PublicURL, "http://127.0.0.1:") {
		t.Fatalf("node %+v", n)
	}
	for _, u := range []string{n.PublicURL, n.ControlURL, n.DataURL} {
		resp, body := do(t, mustRequest(t, http.MethodGet, u+"/v1/health"))
		if resp.StatusCode != 200 || !strings.Contains(body, `"role":"target"`) {
			t.Fatalf("%s: %s %s", u, resp.Status, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if err := n.Validate(); err != nil {
		t.Fatalf("registered node is invalid: %v", err)
	}
}
