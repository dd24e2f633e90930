package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// cachingServers are a "gateway" whose redirects carry an expiry (so the client may cache them)
// and a "target" that answers with what the test says.
type cachingServers struct {
	gw, target       *httptest.Server
	gwHits, tgHits   atomic.Int32
	gwBodies         atomic.Int64 // bytes of request bodies the gateway received
	exp              atomic.Int64 // ais_exp of the next redirect
	targetAnswer     func(n int, w http.ResponseWriter, r *http.Request)
	gwConns, tgConns atomic.Int32
}

func newCachingServers(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *cachingServers {
	s := &cachingServers{targetAnswer: answer}
	s.exp.Store(time.Now().Add(5 * time.Minute).Unix())
	s.target = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.targetAnswer(int(s.tgHits.Add(1)), w, r)
	}))
	s.target.Config.ConnState = countNew(&s.tgConns)
	s.target.Start()
	s.gw = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.gwHits.Add(1)
		if r.Header.Get(HeaderRedirectOnly) == "" {
			n, _ := io.Copy(io.Discard, r.Body)
			s.gwBodies.Add(n)
		}
		q := url.Values{QueryEpoch: {"1"}, QueryExpires: {strconv.FormatInt(s.exp.Load(), 10)},
			QuerySig: {"sig"}, "ais_request_id": {"r" + strconv.Itoa(int(s.gwHits.Load()))}}
		w.Header().Set("Location", s.target.URL+r.URL.EscapedPath()+"?"+q.Encode())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	s.gw.Config.ConnState = countNew(&s.gwConns)
	s.gw.Start()
	t.Cleanup(func() { s.gw.Close(); s.target.Close() })
	return s
}

func countNew(n *atomic.Int32) func(_ net.Conn, st http.ConnState) {
	return func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
}

// serveBody answers with body; a request that carries the ID of an older gateway request came
// from a cached URL that kept it, which it must not.
func serveBody(s **cachingServers, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("ais_request_id"); id != "" && id != "r"+strconv.Itoa(int((*s).gwHits.Load())) {
			WriteError(w, r, fmt.Errorf("%w: a cached URL kept request ID %s", meta.ErrInvalidRequest, id))
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, body)
	}
}

func TestRedirectCache(t *testing.T) {
	tests := []struct {
		name string
		// answer is the target's n-th answer; the first request always fills the cache.
		answer     func(s **cachingServers) func(n int, w http.ResponseWriter, r *http.Request)
		exp        time.Duration // expiry of the redirects
		cacheSize  int
		wantErr    error
		wantGwHits int32
		wantTgHits int32
	}{
		{"second GET goes to the target directly", sb("x"), 5 * time.Minute, 0, nil, 1, 2},
		{"cache off", sb("x"), 5 * time.Minute, -1, nil, 2, 2},
		{"a URL about to expire is not kept", sb("x"), 30 * time.Second, 0, nil, 2, 2},
		{"stale epoch sends the request to the gateway again", failSecond(meta.ErrStaleEpoch), 5 * time.Minute, 0, nil, 2, 3},
		{"expired signature sends the request to the gateway again", failSecond(meta.ErrPermission), 5 * time.Minute, 0, nil, 2, 3},
		{"a real answer is final", failSecond(meta.ErrObjectNotFound), 5 * time.Minute, 0, meta.ErrObjectNotFound, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *cachingServers
			s = newCachingServers(t, tt.answer(&s))
			s.exp.Store(time.Now().Add(tt.exp).Unix())
			c := newTestClient(t, s.gw)
			c.RedirectCacheSize = tt.cacheSize
			var err error
			for i := 0; i < 2 && err == nil; i++ {
				var rc io.ReadCloser
				rc, _, err = c.GetObject(ctxT(t), "bkt", "a/b c", nil)
				if err == nil {
					b, _ := io.ReadAll(rc)
					rc.Close()
					if string(b) != "x" {
						t.Fatalf("GET %d read %q", i, b)
					}
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if s.gwHits.Load() != tt.wantGwHits || s.tgHits.Load() != tt.wantTgHits {
				t.Fatalf("gateway hits %d, target hits %d; want %d and %d", s.gwHits.Load(), s.tgHits.Load(),
					tt.wantGwHits, tt.wantTgHits)
			}
		})
	}
}

func TestRedirectCacheIsPerMethod(t *testing.T) {
	var s *cachingServers
	s = newCachingServers(t, serveBody(&s, ""))
	c := newTestClient(t, s.gw)
	if _, err := c.PutObject(ctxT(t), "bkt", "o", bytes.NewReader([]byte("hello")), 5, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(ctxT(t), "bkt", "o"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctxT(t), "bkt", "o", bytes.NewReader([]byte("hello")), 5, nil); err != nil {
		t.Fatal(err)
	}
	if s.gwHits.Load() != 2 || s.tgHits.Load() != 3 {
		t.Fatalf("gateway hits %d, target hits %d; want 2 and 3", s.gwHits.Load(), s.tgHits.Load())
	}
}

// TestPutKeepsGatewayConnections checks that redirected PUTs neither send their bodies to the
// gateway nor cost a new gateway connection each.
func TestPutKeepsGatewayConnections(t *testing.T) {
	var s *cachingServers
	s = newCachingServers(t, serveBody(&s, ""))
	c := newTestClient(t, s.gw)
	c.RedirectCacheSize = -1
	payload := bytes.Repeat([]byte("z"), 1<<20)
	for i := 0; i < 5; i++ {
		if _, err := c.PutObject(ctxT(t), "bkt", fmt.Sprint("o", i), bytes.NewReader(payload), int64(len(payload)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if s.gwHits.Load() != 5 || s.gwBodies.Load() != 0 {
		t.Fatalf("gateway hits %d, body bytes %d; want 5 and 0", s.gwHits.Load(), s.gwBodies.Load())
	}
	if n := s.gwConns.Load(); n != 1 {
		t.Fatalf("5 PUTs opened %d gateway connections; want 1", n)
	}
	if n := s.tgConns.Load(); n != 1 {
		t.Fatalf("5 PUTs opened %d target connections; want 1", n)
	}
}

func sb(body string) func(s **cachingServers) func(int, http.ResponseWriter, *http.Request) {
	return func(s **cachingServers) func(int, http.ResponseWriter, *http.Request) { return serveBody(s, body) }
}

// failSecond answers the second request with err and every other one with "x".
func failSecond(err error) func(s **cachingServers) func(int, http.ResponseWriter, *http.Request) {
	return func(s **cachingServers) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 2 {
				WriteError(w, r, err)
				return
			}
			serveBody(s, "x")(n, w, r)
		}
	}
}
