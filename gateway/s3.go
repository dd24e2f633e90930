package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// The S3 API (docs/s3.md) shares the public port with the native API: every request whose
// path is not under /v1/ (and every request to a virtual host BUCKET.s3.DOMAIN) is an S3
// request. s3Entry takes those before echo routes them.

// s3Req is one S3 request as the handlers see it.
type s3Req struct {
	w        http.ResponseWriter
	r        *http.Request
	id       string // x-amz-request-id
	hostID   string // x-amz-id-2
	bucket   string
	key      string
	rawKey   string // as in the path, for error documents
	query    url.Values
	sig      *sigV4 // nil: anonymous
	user     string // "" for anonymous
	started  time.Time
	virtHost bool
}

// access is what an operation needs of a bucket.
type access int

const (
	accRead  access = iota // read objects and list: the owner, or anyone if public for reads
	accWrite               // write and delete objects: the owner
	accOwner               // change or remove the bucket itself: the owner
)

// s3Entry is the echo pre-routing middleware that serves S3 requests.
func (g *Gateway) s3Entry(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		vbucket, virt := g.virtualBucket(r.Host)
		if !virt && (r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/")) {
			return next(c)
		}
		if g.draining.Load() { // drain.go: clients reconnect elsewhere
			c.Response().Header().Set("Connection", "close")
		}
		return g.tel.public(func(c echo.Context) error { // counted like the native API's requests
			g.serveS3(c, vbucket, virt)
			return nil
		})(c)
	}
}

// s3RoutePrefix marks an S3 operation's name in place of an echo route, for metrics.
const s3RoutePrefix = "s3:"

// s3Op names an S3 request's operation for metrics (the op label of ais_gw_http_*): one name
// per operation family, so that the label's values stay few.
func s3Op(sr *s3Req) string {
	q, m := sr.query, sr.r.Method
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case sr.bucket == "":
		return "s3_list_buckets"
	case sr.key == "" && m == http.MethodGet && !has("location") && !has("versioning") && !has("acl") && !has("uploads"):
		return "s3_list_objects"
	case sr.key == "" && m == http.MethodPost && has("delete"):
		return "s3_delete_objects"
	case sr.key == "":
		return "s3_bucket_" + strings.ToLower(m)
	case has("uploadId") || has("uploads"):
		return "s3_multipart"
	case m == http.MethodPut && sr.r.Header.Get("X-Amz-Copy-Source") != "":
		return "s3_copy_object"
	}
	return "s3_" + strings.ToLower(m) + "_object"
}

// virtualBucket returns the bucket of a virtual-host style request (BUCKET.s3.DOMAIN).
// virt is true for any host under s3.DOMAIN, bucket "" for s3.DOMAIN itself.
func (g *Gateway) virtualBucket(host string) (bucket string, virt bool) {
	d := g.cfg.S3.Domain
	if d == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	base := "s3." + strings.ToLower(d)
	if host == base {
		return "", true
	}
	if b, ok := strings.CutSuffix(host, "."+base); ok && b != "" {
		return b, true
	}
	return "", false
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// serveS3 authenticates one S3 request, dispatches it to its operation and answers errors in
// S3's XML.
func (g *Gateway) serveS3(c echo.Context, vbucket string, virt bool) {
	w, r := c.Response().Writer, c.Request()
	sr := &s3Req{w: w, r: r, id: newRequestID(), started: g.cfg.Now(), virtHost: virt}
	sr.hostID = g.cfg.ID + "/" + sr.id
	sr.query = parseS3Query(r.URL.RawQuery)
	w.Header().Set("x-amz-request-id", sr.id)
	w.Header().Set("x-amz-id-2", sr.hostID)
	w.Header().Set("Server", "AIS")
	r.Header.Set(api.HeaderRequestID, sr.id)
	err := g.s3Parse(sr, vbucket, virt)
	c.SetPath(s3RoutePrefix + "s3_bad_request")
	if err == nil {
		c.SetPath(s3RoutePrefix + s3Op(sr))
		err = g.s3Authenticate(sr)
	}
	if err == nil {
		err = g.s3Dispatch(sr)
	}
	if err != nil {
		g.s3Failed(sr, err)
	}
}

// s3Failed answers an error unless the answer has begun.
func (g *Gateway) s3Failed(sr *s3Req, err error) {
	code, status, _ := s3Wire(err)
	level := g.log.Debug
	if status >= 500 {
		level = g.log.Warn
	}
	level("s3 request failed", "method", sr.r.Method, "path", sr.r.URL.Path, "code", code, "status", status,
		"request_id", sr.id, "user", sr.user, "err", err)
	var a *answered
	if errors.As(err, &a) {
		return
	}
	writeS3Error(sr.w, sr.r, sr, err)
}

// s3Parse takes the bucket and key out of the path (path style) or the host (virtual-host
// style) and checks them.
func (g *Gateway) s3Parse(sr *s3Req, vbucket string, virt bool) error {
	path := sr.r.URL.Path
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%w: path must start with /", errS3InvalidRequest)
	}
	if virt {
		sr.bucket, sr.rawKey = vbucket, path[1:]
	} else {
		sr.bucket, sr.rawKey, _ = strings.Cut(path[1:], "/")
	}
	sr.key = sr.rawKey
	if sr.bucket == "" {
		if sr.key != "" {
			return fmt.Errorf("%w: a key needs a bucket", meta.ErrInvalidBucketName)
		}
		return nil
	}
	if err := validS3BucketName(sr.bucket); err != nil {
		return err
	}
	if sr.key == "" {
		return nil
	}
	if len(sr.key) > meta.MaxObjectNameLen {
		return fmt.Errorf("%w: %d bytes; the limit is %d", errS3KeyTooLong, len(sr.key), meta.MaxObjectNameLen)
	}
	if err := meta.ValidateObjectName(sr.key); err != nil {
		return err
	}
	return nil
}

// validS3BucketName applies S3's naming rules on top of ours: 3 to 63 lowercase letters,
// digits, '.' and '-', starting and ending with a letter or digit, no "..", not shaped like
// an IP address, no xn-- prefix and no -s3alias suffix.
func validS3BucketName(name string) error {
	if err := meta.ValidateBucketName(name); err != nil {
		return err
	}
	bad := func(rule string) error { return fmt.Errorf("%w: %q: %s", meta.ErrInvalidBucketName, name, rule) }
	if strings.Contains(name, "_") {
		return bad("S3 bucket names may not contain '_'")
	}
	if net.ParseIP(name) != nil {
		return bad("must not be formatted as an IP address")
	}
	if strings.HasPrefix(name, "xn--") || strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3") {
		return bad("reserved prefix or suffix")
	}
	if strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("a '.' must not be next to a '-'")
	}
	return nil
}

// s3Authenticate verifies the request's signature (header or presigned URL) and sets the
// user; a request without one is anonymous.
func (g *Gateway) s3Authenticate(sr *s3Req) error {
	r := sr.r
	now := g.cfg.Now()
	auth := r.Header.Get("Authorization")
	var sv *sigV4
	var err error
	switch {
	case strings.HasPrefix(auth, sigAlgorithm):
		sv, err = parseHeaderAuth(r, now, g.cfg.S3.MaxSkew)
	case auth != "":
		return fmt.Errorf("%w: Authorization %q", errS3UnsupportedSignature, strings.SplitN(auth, " ", 2)[0])
	case sr.query.Get("X-Amz-Algorithm") != "" || sr.query.Get("X-Amz-Signature") != "":
		sv, err = parsePresigned(sr.query, now, g.cfg.S3.MaxSkew)
	case sr.query.Get("AWSAccessKeyId") != "":
		return fmt.Errorf("%w: presigned URLs of signature version 2", errS3UnsupportedSignature)
	default:
		return nil // anonymous
	}
	if err != nil {
		return err
	}
	key, err := g.accessKey(r.Context(), sv.accessKey)
	if err != nil {
		return err
	}
	if err := sv.verify(r, key.Secret); err != nil {
		return err
	}
	sr.sig, sr.user = sv, key.User
	return nil
}

// accessKey finds an access key in the current epoch, asking meta for the newest snapshot
// (at most once a second) when the epoch does not have it: a key just made through meta is
// found at once.
func (g *Gateway) accessKey(ctx context.Context, id string) (meta.AccessKey, error) {
	v, err := g.view(ctx)
	if err != nil {
		return meta.AccessKey{}, err
	}
	if k, ok := v.Snap.AccessKeys[id]; ok && k.Secret != "" {
		return k, nil
	}
	now := g.cfg.Now()
	if last := g.keyRefresh.Load(); last != 0 && now.Sub(time.Unix(0, last)) < time.Second {
		return meta.AccessKey{}, fmt.Errorf("%w: %q", errS3InvalidAccessKey, id)
	}
	g.keyRefresh.Store(now.UnixNano())
	s, err := g.mc.LatestSnapshot(ctx)
	if err != nil {
		return meta.AccessKey{}, fmt.Errorf("gateway: look up access key: %w", err)
	}
	g.follower.Store(s)
	if k, ok := s.AccessKeys[id]; ok && k.Secret != "" {
		return k, nil
	}
	return meta.AccessKey{}, fmt.Errorf("%w: %q", errS3InvalidAccessKey, id)
}

// s3Bucket looks a bucket up and checks that the request may do acc with it.
func (g *Gateway) s3Bucket(sr *s3Req, acc access) (*api.View, meta.Bucket, error) {
	v, b, err := g.lookupBucket(sr.r.Context(), sr.bucket)
	if err != nil {
		return nil, b, err
	}
	if err := s3Allowed(sr, b, acc); err != nil {
		return nil, b, err
	}
	return v, b, nil
}

// s3Allowed is the access rule: a bucket belongs to the user who created it through the S3
// API; one created through the native API (no owner) to every user with a key. Anyone,
// anonymous included, may read a bucket that is public for reads.
func s3Allowed(sr *s3Req, b meta.Bucket, acc access) error {
	if sr.user != "" && (b.Owner == "" || b.Owner == sr.user) {
		return nil
	}
	if acc == accRead && b.Props.Access.PublicRead {
		return nil
	}
	if sr.user == "" {
		return fmt.Errorf("%w: bucket %s", errS3AnonymousDenied, b.Name)
	}
	return fmt.Errorf("%w: bucket %s belongs to another user", meta.ErrPermission, b.Name)
}

// needUser refuses anonymous requests.
func needUser(sr *s3Req) error {
	if sr.user == "" {
		return errS3AnonymousDenied
	}
	return nil
}

// s3Dispatch picks the operation from the method, the path and the sub-resource.
func (g *Gateway) s3Dispatch(sr *s3Req) error {
	q, r := sr.query, sr.r
	has := func(k string) bool { _, ok := q[k]; return ok }
	for _, sub := range []string{"tagging", "policy", "cors", "lifecycle", "encryption", "website", "logging",
		"notification", "replication", "ownershipControls", "object-lock", "accelerate", "requestPayment",
		"publicAccessBlock", "retention", "legal-hold", "restore", "select", "torrent", "attributes",
		"analytics", "inventory", "metrics", "intelligent-tiering", "versionId", "versions"} {
		if has(sub) {
			if sub == "versionId" && (q.Get("versionId") == "null" || q.Get("versionId") == "") {
				continue
			}
			return fmt.Errorf("%w: ?%s", errS3NotImplemented, sub)
		}
	}
	switch {
	case sr.bucket == "":
		if r.Method == http.MethodGet {
			return g.s3ListBuckets(sr)
		}
	case sr.key == "":
		switch r.Method {
		case http.MethodPut:
			switch {
			case has("versioning"):
				return g.s3PutVersioning(sr)
			case has("acl"):
				return g.s3PutBucketACL(sr)
			}
			return g.s3CreateBucket(sr)
		case http.MethodHead:
			return g.s3HeadBucket(sr)
		case http.MethodGet:
			switch {
			case has("location"):
				return g.s3BucketLocation(sr)
			case has("versioning"):
				return g.s3GetVersioning(sr)
			case has("acl"):
				return g.s3GetBucketACL(sr)
			case has("uploads"):
				return g.s3ListUploads(sr)
			}
			return g.s3ListObjects(sr)
		case http.MethodDelete:
			return g.s3DeleteBucket(sr)
		case http.MethodPost:
			if has("delete") {
				return g.s3DeleteObjects(sr)
			}
			return fmt.Errorf("%w: POST on a bucket (browser uploads)", errS3NotImplemented)
		}
	default:
		switch r.Method {
		case http.MethodPut:
			switch {
			case has("acl"):
				return fmt.Errorf("%w: object ACLs", errS3NotImplemented)
			case has("uploadId") || has("partNumber"):
				if r.Header.Get("X-Amz-Copy-Source") != "" {
					return g.s3UploadPartCopy(sr)
				}
				return g.s3UploadPart(sr)
			case r.Header.Get("X-Amz-Copy-Source") != "":
				return g.s3CopyObject(sr)
			}
			return g.s3PutObject(sr)
		case http.MethodGet, http.MethodHead:
			if has("acl") {
				return fmt.Errorf("%w: object ACLs", errS3NotImplemented)
			}
			if has("uploadId") && r.Method == http.MethodGet {
				return g.s3ListParts(sr)
			}
			return g.s3GetObject(sr)
		case http.MethodDelete:
			if has("uploadId") {
				return g.s3AbortUpload(sr)
			}
			return g.s3DeleteObject(sr)
		case http.MethodPost:
			switch {
			case has("uploads"):
				return g.s3CreateUpload(sr)
			case has("uploadId"):
				return g.s3CompleteUpload(sr)
			}
		}
	}
	return fmt.Errorf("%w: %s %s", api.ErrMethodNotAllowed, r.Method, r.URL.Path)
}
