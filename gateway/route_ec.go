package gateway

import (
	"net/http"
	"net/url"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// routeAroundEC sends a GET or HEAD of an object of an EC bucket to the next target in HRW
// order when the client says it could not connect to the owner (api.HeaderUnreachable): in the
// seconds before meta marks a killed target down, that target (which holds a slice) rebuilds
// the object from the slices and serves it without storing it (docs/protection.md).
func routeAroundEC(v *api.View, s *api.Signer, r *http.Request, b meta.Bucket, object string, rt route,
	extra url.Values, expires time.Time) (route, error) {
	bad := r.Header.Get(api.HeaderUnreachable)
	if bad == "" || !b.Props.EC.Enabled || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return rt, nil
	}
	if u, err := url.Parse(rt.Owner.PublicURL); err != nil || u.Host != bad {
		return rt, nil
	}
	order := v.Placement.Order(meta.ObjectKey(b.Key(), object), 2)
	if len(order) < 2 {
		return rt, nil
	}
	next := order[1]
	extra.Set(api.QueryECFallback, rt.Owner.ID)
	u, err := targetURL(next.PublicURL, r.Method, b.Name, object, extra, v.Snap.Epoch, s, expires)
	if err != nil {
		return rt, err
	}
	return route{Owner: next, URL: u}, nil
}
