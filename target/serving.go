package target

import (
	"context"
	"net/http"
)

// WaitServing waits until the target serves clients: its listeners are bound, it is in the
// cluster map, and, if it had left for maintenance when it last stopped, it is active again.
func (s *Server) WaitServing(ctx context.Context) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-s.back:
	case <-ctx.Done():
		return ctx.Err()
	}
	for !s.inClusterMap() {
		if _, err := s.follower.WaitEpoch(ctx, s.follower.Epoch()+1); err != nil {
			return err
		}
	}
	return nil
}

// Healthy reports whether the target's control listener answers its health check (the
// service manager's watchdog asks).
func (s *Server) Healthy(ctx context.Context) bool {
	select {
	case <-s.ready:
	default:
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.node.ControlURL+"/v1/health", nil)
	if err != nil {
		return false
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
