package gateway

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

const objectsPrefix = "/v1/objects/"

// parseObjectPath splits the escaped URL path of an object request
// ("/v1/objects/{bucket}/{object...}") into the bucket and the object name, unescaping each
// once (so "a%2Fb" and "a/b" name the same object, and "%2525" names "%25"), and validates both.
func parseObjectPath(escaped string) (bucket, object string, err error) {
	rest, ok := strings.CutPrefix(escaped, objectsPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: object path must start with %s", meta.ErrInvalidRequest, objectsPrefix)
	}
	rawBucket, rawObject, _ := strings.Cut(rest, "/")
	if bucket, err = url.PathUnescape(rawBucket); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", meta.ErrInvalidBucketName, rawBucket, err)
	}
	if err := meta.ValidateBucketName(bucket); err != nil {
		return "", "", err
	}
	if object, err = url.PathUnescape(rawObject); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", meta.ErrInvalidObjectName, rawObject, err)
	}
	if err := meta.ValidateObjectName(object); err != nil {
		return "", "", err
	}
	return bucket, object, nil
}

// signedPath is the unescaped path a target verifies a signature against.
func signedPath(bucket, object string) string { return objectsPrefix + bucket + "/" + object }

// route is where one object request goes at one epoch.
type route struct {
	Owner meta.Node
	URL   string // the signed target URL
}

// proxyTarget is the URL the gateway itself sends a proxied request to: rt.URL on the owner's
// data listener, whose connections use the cluster's TCP congestion control
// (Config.ClusterTCPCongestion), or on its public listener when the owner advertises none or
// toPublic (Config.ProxyToPublic).
func (rt route) proxyTarget(toPublic bool) (*url.URL, error) {
	u, err := url.Parse(rt.URL)
	if err != nil {
		return nil, fmt.Errorf("gateway: target URL %q: %w", rt.URL, err)
	}
	if rt.Owner.DataURL != "" && !toPublic {
		if du, err := url.Parse(rt.Owner.DataURL); err == nil && du.Host != "" {
			u.Scheme, u.Host = du.Scheme, du.Host
		}
	}
	return u, nil
}

// routeObject picks the object's owner at the view's epoch and signs a URL on it for method,
// valid until expires. extra holds client query parameters for the target (validate=true);
// the signature's own parameters win over any of the same name.
func routeObject(v *api.View, s *api.Signer, method string, b meta.Bucket, object string,
	extra url.Values, expires time.Time) (route, error) {
	owner, err := v.Placement.Owner(meta.ObjectKey(b.Key(), object))
	if err != nil {
		return route{}, fmt.Errorf("gateway: route %s/%s at epoch %d: %w", b.Name, object, v.Snap.Epoch, err)
	}
	u, err := targetURL(owner.PublicURL, method, b.Name, object, extra, v.Snap.Epoch, s, expires)
	if err != nil {
		return route{}, fmt.Errorf("gateway: route %s/%s to target %s: %w", b.Name, object, owner.ID, err)
	}
	return route{Owner: owner, URL: u}, nil
}

// targetURL builds a target's signed object URL: scheme and host of base, the object path with
// each name component escaped on its own, and the signed query.
func targetURL(base, method, bucket, object string, extra url.Values, epoch uint64, s *api.Signer,
	expires time.Time) (string, error) {
	bu, err := url.Parse(base)
	if err != nil || bu.Host == "" || (bu.Scheme != "http" && bu.Scheme != "https") {
		return "", fmt.Errorf("%w: target URL %q is not http(s)://HOST:PORT", meta.ErrUnavailable, base)
	}
	q := s.Sign(method, signedPath(bucket, object), epoch, expires)
	for k, vs := range extra {
		if _, ok := q[k]; !ok {
			q[k] = vs
		}
	}
	return bu.Scheme + "://" + bu.Host + api.ObjectPath(bucket, object) + "?" + q.Encode(), nil
}

// targetQuery returns the client's query parameters that go on to the target: all but the
// gateway's own (proxy) and the signature's.
func targetQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		switch k {
		case "proxy", api.QueryEpoch, api.QueryExpires, api.QuerySig:
			continue
		}
		out[k] = vs
	}
	return out
}
