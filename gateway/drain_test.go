package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// TestDrain checks what a stopping gateway does while it drains: health answers 503, every
// answer asks the client to close its connection, other requests are still served, and Run
// returns once DrainWait has passed.
func TestDrain(t *testing.T) {
	snap := meta.NewSnapshot()
	snap.Epoch = 3
	g := newTestGateway(t, snap, false)
	g.cfg.DrainWait = 300 * time.Millisecond
	g.cfg.Listen = "127.0.0.1:0"
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		g.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	if w := get("/v1/health"); w.Code != http.StatusOK || !g.Healthy(context.Background()) {
		t.Fatalf("before the drain: health %d", w.Code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for !g.draining.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w := get("/v1/health")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Connection") != "close" || g.Healthy(context.Background()) {
		t.Fatalf("while draining: health %d, Connection %q", w.Code, w.Header().Get("Connection"))
	}
	if w := get("/v1/metrics"); w.Code != http.StatusOK || w.Header().Get("Connection") != "close" ||
		!strings.Contains(w.Body.String(), "ais_gw_draining 1") {
		t.Fatalf("while draining: metrics %d %q", w.Code, w.Header().Get("Connection"))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("Run returned after %s, before the drain wait", took)
	}
}
