package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// fakeTarget serves /v1/objects/bkt/{name}: "big" (3 MiB, with ranges), "chunked" (no
// Content-Length), "missing" (404 ObjectNotFound) and "stale" (421 at epoch 9). It counts
// the connections clients open to it.
type fakeTarget struct {
	srv   *httptest.Server
	conns atomic.Int32
	big   []byte
}

func newFakeTarget(t *testing.T) *fakeTarget {
	ft := &fakeTarget{big: make([]byte, 3<<20)}
	for i := range ft.big {
		ft.big[i] = byte(i*7 + i>>12)
	}
	ft.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(api.HeaderEpoch) != "5" || r.URL.Query().Get(api.QuerySig) == "" {
			api.WriteError(w, r, fmt.Errorf("%w: want the signed URL and epoch 5", meta.ErrPermission))
			return
		}
		w.Header().Set(api.HeaderVersion, "3")
		switch r.URL.Path {
		case "/v1/objects/bkt/big":
			http.ServeContent(w, r, "", time.Unix(1_700_000_000, 0), bytes.NewReader(ft.big))
		case "/v1/objects/bkt/chunked":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "chunked body")
		case "/v1/objects/bkt/stale":
			w.Header().Set(api.HeaderEpoch, "9")
			api.WriteError(w, r, meta.ErrStaleEpoch)
		default:
			api.WriteError(w, r, meta.ErrObjectNotFound)
		}
	}))
	ft.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			ft.conns.Add(1)
		}
	}
	ft.srv.Start()
	t.Cleanup(ft.srv.Close)
	return ft
}

// TestProxyGet checks proxy mode's own GET path (proxy_get.go) end to end over real sockets.
func TestProxyGet(t *testing.T) {
	ft := newFakeTarget(t)
	snap := testSnapshot("t1")
	n := snap.Nodes["t1"]
	n.PublicURL = ft.srv.URL
	snap.Nodes["t1"] = n
	g := newTestGateway(t, snap, true)
	gw := httptest.NewServer(g.Handler())
	t.Cleanup(gw.Close)
	t.Cleanup(g.raw.close)

	get := func(path, rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, gw.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: read body: %v", path, err)
		}
		return resp, b
	}
	tests := []struct {
		name, path, rng string
		status          int
		body            []byte
		code            string
	}{
		{"whole object", "/v1/objects/bkt/big", "", 200, ft.big, ""},
		{"range", "/v1/objects/bkt/big", "bytes=1000-1999999", 206, ft.big[1000:2000000], ""},
		{"again, on a kept connection", "/v1/objects/bkt/big", "", 200, ft.big, ""},
		{"chunked answer", "/v1/objects/bkt/chunked", "", 200, []byte("chunked body"), ""},
		{"error answer", "/v1/objects/bkt/missing", "", 404, nil, "ObjectNotFound"},
		{"stale epoch", "/v1/objects/bkt/stale", "", 421, nil, "StaleEpoch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := get(tt.path, tt.rng)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.status)
			}
			if resp.Header.Get(api.HeaderRequestID) == "" {
				t.Fatal("no request ID on the answer")
			}
			if tt.code != "" {
				if got := resp.Header.Get(api.HeaderErrorCode); got != tt.code {
					t.Fatalf("error code %q, want %q", got, tt.code)
				}
				return
			}
			if resp.Header.Get(api.HeaderVersion) != "3" {
				t.Fatalf("target's headers lost: %v", resp.Header)
			}
			if !bytes.Equal(b, tt.body) {
				t.Fatalf("body of %d bytes differs from the %d expected", len(b), len(tt.body))
			}
			if tt.path != "/v1/objects/bkt/chunked" {
				if cl, _ := strconv.Atoi(resp.Header.Get("Content-Length")); cl != len(tt.body) {
					t.Fatalf("Content-Length %d, body %d", cl, len(tt.body))
				}
			}
		})
	}
	// The chunked answer cost its connection; the others shared one.
	if n := ft.conns.Load(); n != 2 {
		t.Fatalf("the gateway opened %d connections to the target, want 2", n)
	}

	t.Run("target closed the kept connection", func(t *testing.T) {
		ft.srv.CloseClientConnections()
		resp, b := get("/v1/objects/bkt/big", "")
		if resp.StatusCode != 200 || !bytes.Equal(b, ft.big) {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("target gone", func(t *testing.T) {
		ft.srv.Close()
		resp, _ := get("/v1/objects/bkt/big", "")
		if resp.StatusCode != 503 || resp.Header.Get(api.HeaderErrorCode) != "Unavailable" {
			t.Fatalf("status %d, code %q", resp.StatusCode, resp.Header.Get(api.HeaderErrorCode))
		}
	})
}

// TestHandoffUnreachable: a target that advertises a same-host hand-off the gateway cannot
// reach (here: no such socket) is proxied over TCP, and not tried again at once.
func TestHandoffUnreachable(t *testing.T) {
	ft := newFakeTarget(t)
	snap := testSnapshot("t1")
	n := snap.Nodes["t1"]
	n.PublicURL, n.BootID, n.Handoff = ft.srv.URL, api.BootID(), api.HandoffSocketName("127.0.0.1:1")
	snap.Nodes["t1"] = n
	g := newTestGateway(t, snap, true)
	if g.handoff == nil || n.BootID == "" {
		t.Skip("no hand-off here (no boot ID)")
	}
	gw := httptest.NewServer(g.Handler())
	t.Cleanup(gw.Close)
	t.Cleanup(g.raw.close)
	for i := range 2 {
		resp, err := http.Get(gw.URL + "/v1/objects/bkt/big")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(b, ft.big) {
			t.Fatalf("GET %d: %d, %d bytes, %v", i, resp.StatusCode, len(b), err)
		}
	}
	if failed, file := counterValue(t, g.handoff.viaTCP), counterValue(t, g.handoff.file); failed != 1 || file != 0 {
		t.Fatalf("hand-offs failed %v, file answers %v; want 1 and 0", failed, file)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
