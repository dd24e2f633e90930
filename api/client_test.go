package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aisfoundry/ais/meta"
)

// The servers in these tests stand in for HTTP behaviour only (status codes, headers,
// redirects, 100-continue); they implement no part of a gateway or target.

func newTestClient(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientErrorsMapToSentinels(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderRequestID, "req-1")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/buckets/nob"):
			WriteError(w, r, fmt.Errorf("%w: %q", meta.ErrBucketNotFound, "ais/nob"))
		case r.URL.Path == "/v1/buckets/dup":
			WriteError(w, r, meta.ErrBucketExists)
		case r.URL.Path == "/v1/buckets/bkt":
			WriteError(w, r, fmt.Errorf("%w: limit", meta.ErrInvalidRequest))
		case r.URL.Path == "/v1/objects/bkt/missing":
			WriteError(w, r, meta.ErrObjectNotFound)
		case r.URL.Path == "/v1/objects/bkt/a/../b":
			WriteError(w, r, meta.ErrInvalidObjectName)
		default:
			WriteError(w, r, ErrRouteNotFound)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv)
	ctx := ctxT(t)
	_, _, getErr := c.GetObject(ctx, "bkt", "missing", nil)
	_, headObjErr := c.HeadObject(ctx, "bkt", "missing")
	_, putErr := c.PutObject(ctx, "bkt", "a/../b", strings.NewReader("x"), 1, nil)
	_, propsErr := c.BucketProps(ctx, "nob")
	createErr := c.CreateBucket(ctx, "dup", nil)
	_, listErr := c.ListObjects(ctx, "bkt", ListOptions{})
	tests := []struct {
		name string
		err  error
		want error
		code string
	}{
		{"HEAD bucket (no body)", c.HeadBucket(ctx, "nob"), meta.ErrBucketNotFound, "BucketNotFound"},
		{"bucket props", propsErr, meta.ErrBucketNotFound, "BucketNotFound"},
		{"create", createErr, meta.ErrBucketExists, "BucketAlreadyExists"},
		{"destroy", c.DestroyBucket(ctx, "nob"), meta.ErrBucketNotFound, "BucketNotFound"},
		{"list", listErr, meta.ErrInvalidRequest, "InvalidRequest"},
		{"get object", getErr, meta.ErrObjectNotFound, "ObjectNotFound"},
		{"HEAD object (no body)", headObjErr, meta.ErrObjectNotFound, "ObjectNotFound"},
		{"delete object", c.DeleteObject(ctx, "bkt", "missing"), meta.ErrObjectNotFound, "ObjectNotFound"},
		{"put object", putErr, meta.ErrInvalidObjectName, "InvalidObjectName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("err = %v, want errors.Is %v", tt.err, tt.want)
			}
			var we *Error
			if !errors.As(tt.err, &we) || we.Code != tt.code {
				t.Fatalf("err = %#v, want code %s", tt.err, tt.code)
			}
		})
	}
}

// objectServers are a "gateway" that answers object requests with a 307 to a "target".
type objectServers struct {
	gw, target *httptest.Server
	gwHits     atomic.Int32
	targetHits atomic.Int32

	mu       sync.Mutex
	gwHdrs   []http.Header
	gwQuery  []string
	tgHdrs   []http.Header
	received [][]byte
}

// newObjectServers starts both; target answers each request (n counts from 1).
func newObjectServers(t *testing.T, target func(n int, w http.ResponseWriter, r *http.Request)) *objectServers {
	s := &objectServers{}
	s.target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.targetHits.Add(1))
		s.mu.Lock()
		s.tgHdrs = append(s.tgHdrs, r.Header.Clone())
		s.mu.Unlock()
		target(n, w, r)
	}))
	s.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.gwHits.Add(1)
		s.mu.Lock()
		s.gwHdrs = append(s.gwHdrs, r.Header.Clone())
		s.gwQuery = append(s.gwQuery, r.URL.RawQuery)
		s.mu.Unlock()
		// Never touch r.Body: a redirecting gateway answers before the body is sent.
		loc := s.target.URL + r.URL.EscapedPath() + "?ais_sig=x"
		if q := r.URL.Query().Get("validate"); q != "" {
			loc += "&validate=" + q
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(func() { s.gw.Close(); s.target.Close() })
	return s
}

func (s *objectServers) keep(b []byte) {
	s.mu.Lock()
	s.received = append(s.received, b)
	s.mu.Unlock()
}

// onlyReader hides every method but Read (no Seek, no WriteTo, no Len).
type onlyReader struct{ r io.Reader }

func (o *onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func okPut(s *objectServers) func(n int, w http.ResponseWriter, r *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			WriteError(w, r, meta.ErrIncompleteBody)
			return
		}
		s.keep(b)
		w.Header().Set(HeaderChecksumType, "md5")
		w.Header().Set(HeaderChecksumValue, "abcd")
		w.Header().Set(HeaderVersion, "3")
		w.Header().Set("ETag", `"abcd"`)
		w.WriteHeader(http.StatusOK)
	}
}

func TestPutFollowsRedirectWithExpectContinue(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB
	tests := []struct {
		name         string
		body         func() io.Reader
		size         int64
		targetExpect bool // a body that cannot be rewound also waits for the target's 100
	}{
		{"non-seekable", func() io.Reader { return &onlyReader{bytes.NewReader(payload)} }, int64(len(payload)), true},
		{"non-seekable, unknown size", func() io.Reader { return &onlyReader{bytes.NewReader(payload)} }, -1, true},
		{"seekable", func() io.Reader { return bytes.NewReader(payload) }, int64(len(payload)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *objectServers
			s = newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) { okPut(s)(n, w, r) })
			c := newTestClient(t, s.gw)
			attrs, err := c.PutObject(ctxT(t), "bkt", "dir/a b%", tt.body(), tt.size,
				&PutOptions{ChecksumType: "md5", ChecksumValue: "abcd"})
			if err != nil {
				t.Fatal(err)
			}
			if s.gwHits.Load() != 1 || s.targetHits.Load() != 1 {
				t.Fatalf("gateway hits %d, target hits %d", s.gwHits.Load(), s.targetHits.Load())
			}
			// The gateway is asked for the redirect only, without the body.
			if got := s.gwHdrs[0].Get(HeaderRedirectOnly); got != "true" {
				t.Fatalf("gateway saw %s %q", HeaderRedirectOnly, got)
			}
			if got := s.gwHdrs[0].Get("Expect"); got != "" {
				t.Fatalf("gateway saw Expect %q", got)
			}
			if got := s.tgHdrs[0].Get("Expect") == "100-continue"; got != tt.targetExpect {
				t.Fatalf("target saw Expect: %v, want %v", got, tt.targetExpect)
			}
			if s.tgHdrs[0].Get(HeaderChecksumValue) != "abcd" {
				t.Fatal("checksum header did not reach the target")
			}
			if !bytes.Equal(s.received[0], payload) {
				t.Fatalf("target received %d bytes, want %d", len(s.received[0]), len(payload))
			}
			want := &ObjectAttrs{Size: int64(len(payload)), ChecksumType: "md5", ChecksumValue: "abcd", Version: 3, ETag: `"abcd"`}
			if diff := cmp.Diff(want, attrs); diff != "" {
				t.Fatalf("attrs (-want +got)\n%s", diff)
			}
		})
	}
}

func TestPutRetriesOnStaleEpoch(t *testing.T) {
	var s *objectServers
	s = newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 { // refuse before reading the body
			w.Header().Set(HeaderEpoch, "9")
			WriteError(w, r, meta.ErrStaleEpoch)
			return
		}
		okPut(s)(n, w, r)
	})
	c := newTestClient(t, s.gw)
	if _, err := c.PutObject(ctxT(t), "bkt", "o", &onlyReader{strings.NewReader("hello")}, 5, nil); err != nil {
		t.Fatal(err)
	}
	if s.gwHits.Load() != 2 || s.targetHits.Load() != 2 {
		t.Fatalf("gateway hits %d, target hits %d; want 2 and 2", s.gwHits.Load(), s.targetHits.Load())
	}
	if s.gwHdrs[0].Get(HeaderEpoch) != "" || s.gwHdrs[1].Get(HeaderEpoch) != "9" {
		t.Fatalf("the retry did not tell the gateway the target's epoch: %q, %q",
			s.gwHdrs[0].Get(HeaderEpoch), s.gwHdrs[1].Get(HeaderEpoch))
	}
	if len(s.received) != 1 || string(s.received[0]) != "hello" {
		t.Fatalf("received %q", s.received)
	}
}

func TestPutRetryNeedsTheBody(t *testing.T) {
	consumeThen503 := func(s *objectServers) func(n int, w http.ResponseWriter, r *http.Request) {
		return func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				io.Copy(io.Discard, r.Body)
				WriteError(w, r, meta.ErrUnavailable)
				return
			}
			okPut(s)(n, w, r)
		}
	}
	t.Run("seekable body is sent again", func(t *testing.T) {
		var s *objectServers
		s = newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) { consumeThen503(s)(n, w, r) })
		c := newTestClient(t, s.gw)
		if _, err := c.PutObject(ctxT(t), "bkt", "o", strings.NewReader("hello"), 5, nil); err != nil {
			t.Fatal(err)
		}
		if s.targetHits.Load() != 2 || string(s.received[0]) != "hello" {
			t.Fatalf("target hits %d, received %q", s.targetHits.Load(), s.received)
		}
	})
	t.Run("spent non-seekable body is not retried", func(t *testing.T) {
		var s *objectServers
		s = newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) { consumeThen503(s)(n, w, r) })
		c := newTestClient(t, s.gw)
		_, err := c.PutObject(ctxT(t), "bkt", "o", &onlyReader{strings.NewReader("hello")}, 5, nil)
		if !errors.Is(err, errBodyConsumed) || !errors.Is(err, meta.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if s.targetHits.Load() != 1 {
			t.Fatalf("target hits %d", s.targetHits.Load())
		}
	})
}

func TestRetriesAreBounded(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		WriteError(w, r, meta.ErrNoTargets)
	}))
	defer srv.Close()
	c := newTestClient(t, srv)
	c.MaxAttempts = 3
	_, err := c.HeadObject(ctxT(t), "bkt", "o")
	if !errors.Is(err, meta.ErrNoTargets) || hits.Load() != 3 {
		t.Fatalf("err = %v after %d hits", err, hits.Load())
	}
}

func TestGetRangeAndAttrs(t *testing.T) {
	const obj = "abcdefghij"
	mtime := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("validate") != "true" {
			WriteError(w, r, fmt.Errorf("%w: validate lost", meta.ErrInvalidRequest))
			return
		}
		w.Header().Set(HeaderChecksumType, "xxh")
		w.Header().Set(HeaderChecksumValue, "ff")
		w.Header().Set(HeaderVersion, "2")
		w.Header().Set("Last-Modified", mtime.Format(http.TimeFormat))
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", "10")
			return
		}
		if r.Header.Get("Range") != "bytes=2-4" {
			WriteError(w, r, fmt.Errorf("%w: range %q", meta.ErrInvalidRequest, r.Header.Get("Range")))
			return
		}
		w.Header().Set("Content-Range", "bytes 2-4/10")
		w.WriteHeader(http.StatusPartialContent)
		io.WriteString(w, obj[2:5])
	})
	c := newTestClient(t, s.gw)
	rc, attrs, err := c.GetObject(ctxT(t), "bkt", "o", &GetOptions{Offset: 2, Length: 3, Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != "cde" {
		t.Fatalf("read %q, %v", data, err)
	}
	want := &ObjectAttrs{Size: 10, ChecksumType: "xxh", ChecksumValue: "ff", Version: 2, LastModified: mtime}
	if diff := cmp.Diff(want, attrs); diff != "" {
		t.Fatalf("GET attrs (-want +got)\n%s", diff)
	}
	if _, _, err := c.GetObject(ctxT(t), "bkt", "o", &GetOptions{Offset: -1}); !errors.Is(err, meta.ErrInvalidRequest) {
		t.Fatalf("negative offset: %v", err)
	}
}

func TestHeadObjectAttrs(t *testing.T) {
	s := newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderVersion, "7")
		w.Header().Set("Content-Length", "12345")
	})
	c := newTestClient(t, s.gw)
	a, err := c.HeadObject(ctxT(t), "bkt", "o")
	if err != nil || a.Size != 12345 || a.Version != 7 {
		t.Fatalf("attrs %+v, %v", a, err)
	}
}

func TestProxyOption(t *testing.T) {
	var s *objectServers
	s = newObjectServers(t, func(n int, w http.ResponseWriter, r *http.Request) { okPut(s)(n, w, r) })
	c := newTestClient(t, s.gw)
	c.Proxy = true
	if err := c.DeleteObject(ctxT(t), "bkt", "o"); err != nil {
		t.Fatal(err)
	}
	if q := s.gwQuery[0]; q != "proxy=true" {
		t.Fatalf("gateway query %q", q)
	}
}

func TestListAllObjectsPages(t *testing.T) {
	pages := map[string]ObjectList{
		"":   {Entries: []ObjectEntry{{Name: "a"}, {Name: "b"}}, NextToken: "t1"},
		"t1": {Entries: []ObjectEntry{{Name: "c"}}, NextToken: "t2"},
		"t2": {Entries: []ObjectEntry{{Name: "d"}}},
	}
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		p, ok := pages[r.URL.Query().Get("token")]
		if !ok || r.URL.Path != "/v1/buckets/bkt" {
			WriteError(w, r, meta.ErrInvalidRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"entries":%s,"next_token":%q}`, mustJSON(p.Entries), p.NextToken)
	}))
	defer srv.Close()
	c := newTestClient(t, srv)
	all, err := c.ListAllObjects(ctxT(t), "bkt", ListOptions{Prefix: "x/", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all {
		got = append(got, e.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d"}, got); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
	wantQ := []string{"limit=2&prefix=x%2F", "limit=2&prefix=x%2F&token=t1", "limit=2&prefix=x%2F&token=t2"}
	if diff := cmp.Diff(wantQ, queries); diff != "" {
		t.Fatalf("queries (-want +got)\n%s", diff)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestObjectPath(t *testing.T) {
	tests := []struct{ bucket, object, want string }{
		{"bkt", "a.txt", "/v1/objects/bkt/a.txt"},
		{"bkt", "dir/sub/a b", "/v1/objects/bkt/dir/sub/a%20b"},
		{"bkt", "100%/x?y#z", "/v1/objects/bkt/100%25/x%3Fy%23z"},
		{"bkt", "日本", "/v1/objects/bkt/%E6%97%A5%E6%9C%AC"},
	}
	for _, tt := range tests {
		t.Run(tt.object, func(t *testing.T) {
			if got := ObjectPath(tt.bucket, tt.object); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewClientTransport(t *testing.T) {
	hc := &http.Client{Transport: &http.Transport{}}
	c, err := NewClient("127.0.0.1:8080", hc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != "http://127.0.0.1:8080" {
		t.Fatalf("endpoint %q", c.Endpoint())
	}
	if tr := c.hc.Transport.(*http.Transport); tr.ExpectContinueTimeout != ExpectContinueTimeout {
		t.Fatalf("ExpectContinueTimeout %v", tr.ExpectContinueTimeout)
	}
	if hc.Transport.(*http.Transport).ExpectContinueTimeout != 0 || hc.CheckRedirect != nil {
		t.Fatal("NewClient changed the caller's http.Client")
	}
}
