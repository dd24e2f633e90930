package metasrv

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

// WaitServing waits until Run serves the HTTP API: it asks the member's own listener for
// /v1/health until the answer is 200. A member serves (and answers 503 NotLeader to what needs a
// leader) whether or not the quorum has one, so a service manager sees it ready without waiting
// for the other members.
func (s *Server) WaitServing(ctx context.Context) error {
	addr := s.ln.Addr().String()
	if ta, ok := s.ln.Addr().(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
	}
	url := "http://" + addr + "/v1/health"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := s.hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
