package gateway

import (
	"context"
	"net/http"
)

// WaitServing waits until the gateway serves: it listens and holds an epoch (its /v1/health
// answers 200 from then on).
func (g *Gateway) WaitServing(ctx context.Context) error {
	_, err := g.follower.WaitEpoch(ctx, 1)
	return err
}

// Healthy reports whether the gateway's own handler answers its health check 200 (the
// service manager's watchdog asks). It goes through the handler, not the network, so it holds
// whichever listener the gateway was given.
func (g *Gateway) Healthy(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/v1/health", nil)
	if err != nil {
		return false
	}
	w := &statusRecorder{header: http.Header{}}
	g.handler.ServeHTTP(w, req)
	return w.status == http.StatusOK
}

// statusRecorder is the least http.ResponseWriter: it keeps the status.
type statusRecorder struct {
	header http.Header
	status int
}

func (w *statusRecorder) Header() http.Header { return w.header }
func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
