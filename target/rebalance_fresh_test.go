package target

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aisfoundry/ais/api"
)

// TestStaleTargetRefusesData: a target whose last answered heartbeat is older than the
// staleness bound (3/4 of node_timeout) answers data requests 503 Unavailable (retryable)
// instead of serving from a cluster map that may be stale (chaos bug 4: a target resumed after
// SIGSTOP served stale reads at its old epoch); once meta answered again and the target has
// caught up to the epoch meta named, it serves again.
func TestStaleTargetRefusesData(t *testing.T) {
	tt := newTestTarget(t)
	name := tt.ownedBy(t, "t1", "fresh-")
	tt.put(t, name, "hello")
	now := tt.srv.clock.Now()
	nodeTimeout := tt.srv.Follower().Current().Snap.Config.NodeTimeout.D()

	tt.srv.metaContacted(now.Add(-nodeTimeout), 5)
	resp, body := tt.get(t, name)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(api.HeaderErrorCode) != "StaleView" ||
		!strings.Contains(body, "not heard from meta") {
		t.Fatalf("GET on a stale target: %s %s %q, want 503 StaleView", resp.Status, resp.Header.Get(api.HeaderErrorCode), body)
	}
	resp, _ = do(t, tt.request(t, http.MethodPut, http.MethodPut, "bkt", name, 5, strings.NewReader("x")))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("PUT on a stale target: %s, want 503", resp.Status)
	}

	// Meta answered, but names an epoch this target has not caught up to yet.
	tt.srv.metaContacted(now, 6)
	if resp, _ := tt.get(t, name); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET behind the epoch meta named: %s, want 503", resp.Status)
	}
	tt.srv.Follower().Store(testSnapshot(6, testBucket("bkt", 1, "")))
	if resp, body := tt.get(t, name); resp.StatusCode != http.StatusOK || body != "hello" {
		t.Fatalf("GET after catching up: %s %q", resp.Status, body)
	}
}
