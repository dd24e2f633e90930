package main

import (
	"fmt"
	"strings"

	"github.com/aisfoundry/ais/meta"
)

// schemeAIS is the scheme of buckets this cluster stores.
const schemeAIS = "ais://"

// uri is a parsed bucket or object address: ais://BUCKET, ais://BUCKET/OBJECT. s3:// and gs://
// addresses, and ais://@remote/BUCKET of other clusters, are recognised but not served yet.
type uri struct {
	Provider meta.Provider
	Bucket   string
	Object   string // empty for a bucket; may end with '/' when it names a prefix
	// HasSlash says the address had a '/' after the bucket name (ais://b/), so that an empty
	// Object names the bucket's root as a prefix rather than the bucket itself.
	HasSlash bool
}

func (u uri) String() string {
	s := string(u.Provider) + "://" + u.Bucket
	if u.Object != "" || u.HasSlash {
		s += "/" + u.Object
	}
	return s
}

// BucketString is the bucket's own address, ais://BUCKET.
func (u uri) BucketString() string { return string(u.Provider) + "://" + u.Bucket }

// parseURI parses an address. bareOK lets a plain NAME stand for ais://NAME (in places where
// only a bucket can be meant).
func parseURI(s string, bareOK bool) (uri, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if !bareOK || s == "" || strings.Contains(s, "/") {
			return uri{}, fmt.Errorf("%q is not a bucket or object address; write ais://BUCKET or ais://BUCKET/OBJECT", s)
		}
		scheme, rest = "ais", s
	}
	switch scheme {
	case "ais":
	case "s3", "gs", "gcp", "az", "azure", "http", "https":
		return uri{}, fmt.Errorf("%q: %s:// buckets are not supported yet; this cluster serves ais:// buckets", s, scheme)
	default:
		return uri{}, fmt.Errorf("%q: unknown scheme %q; write ais://BUCKET or ais://BUCKET/OBJECT", s, scheme+"://")
	}
	if strings.HasPrefix(rest, "@") {
		return uri{}, fmt.Errorf("%q: buckets of remote clusters (ais://@remote/BUCKET) are not supported yet", s)
	}
	u := uri{Provider: meta.ProviderAIS}
	u.Bucket, u.Object, u.HasSlash = strings.Cut(rest, "/")
	if u.Bucket == "" {
		return uri{}, fmt.Errorf("%q has no bucket name; write ais://BUCKET", s)
	}
	if err := meta.ValidateBucketName(u.Bucket); err != nil {
		return uri{}, err
	}
	return u, nil
}

// parseBucket parses an address that must name a bucket and nothing inside it.
func parseBucket(s string) (uri, error) {
	u, err := parseURI(s, true)
	if err != nil {
		return u, err
	}
	if u.Object != "" {
		return u, fmt.Errorf("%q names an object; this command takes a bucket, ais://%s", s, u.Bucket)
	}
	u.HasSlash = false
	return u, nil
}

// parseObject parses an address that must name one object.
func parseObject(s string) (uri, error) {
	u, err := parseURI(s, false)
	if err != nil {
		return u, err
	}
	if u.Object == "" {
		return u, fmt.Errorf("%q names a bucket; write the object as ais://%s/OBJECT", s, u.Bucket)
	}
	if err := meta.ValidateObjectName(u.Object); err != nil {
		return u, err
	}
	return u, nil
}

// isRemote reports whether a command argument is a bucket or object address rather than a
// local path: it has a scheme.
func isRemote(s string) bool { return strings.Contains(s, "://") }
