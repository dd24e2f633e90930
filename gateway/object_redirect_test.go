package gateway

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/aisfoundry/ais/api"
)

// TestRedirectOnly checks that a client asking only for the redirect (the Go client's PUTs,
// sent without their body) gets it from a gateway in proxy mode too, and that without the
// header the same gateway proxies.
func TestRedirectOnly(t *testing.T) {
	snap := testSnapshot("t1", "t2")
	n := snap.Nodes["t1"]
	n.PublicURL = "http://" + closedAddr(t) // proxying would fail: 503
	snap.Nodes["t1"] = n
	n = snap.Nodes["t2"]
	n.PublicURL = "http://" + closedAddr(t)
	snap.Nodes["t2"] = n
	for _, proxy := range []bool{false, true} {
		g := newTestGateway(t, snap, proxy)
		for _, method := range []string{"PUT", "GET"} {
			a := do(t, g, method, "/v1/objects/bkt/o", nil, api.HeaderRedirectOnly, "true")
			if a.status != http.StatusTemporaryRedirect {
				t.Fatalf("proxy=%v %s: %d %s", proxy, method, a.status, a.body)
			}
			loc, err := url.Parse(a.header.Get("Location"))
			if err != nil || loc.Query().Get(api.QuerySig) == "" {
				t.Fatalf("proxy=%v %s: Location %q", proxy, method, a.header.Get("Location"))
			}
		}
		if proxy {
			if a := do(t, g, "GET", "/v1/objects/bkt/o", nil); a.status != http.StatusServiceUnavailable {
				t.Fatalf("proxy mode without the header: %d, want 503 from the unreachable target", a.status)
			}
		}
	}
}
