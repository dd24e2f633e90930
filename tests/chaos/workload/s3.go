package workload

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// s3proto speaks the S3 API (path style, Signature Version 4 with UNSIGNED-PAYLOAD) to a
// gateway, which proxies each request to the owning target. Like native it makes one request
// per operation, without retries.
type s3proto struct {
	hc       *http.Client
	base     string // http://host:port
	id, key  string // access key ID and secret
	region   string
	now      func() time.Time
	endpoint *url.URL
}

// s3Error is an S3 error answer.
type s3Error struct {
	Status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (e *s3Error) Error() string { return fmt.Sprintf("s3 %d %s: %s", e.Status, e.Code, e.Message) }

func newS3(hc *http.Client, base, id, key string) (*s3proto, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	return &s3proto{hc: hc, base: base, id: id, key: key, region: "us-east-1", now: time.Now, endpoint: u}, nil
}

// do sends one S3 object request and returns the answer (status < 300) or an error: *s3Error
// for an S3 error answer, *hopError when no answer came.
func (s *s3proto) do(ctx context.Context, method, bucket, key string, body []byte) (*http.Response, error) {
	return s.send(ctx, method, bucket, key, nil, nil, body)
}

// send is do with a query (signed in its canonical form) and extra, unsigned headers
// (If-Match, If-None-Match). An empty key addresses the bucket.
func (s *s3proto) send(ctx context.Context, method, bucket, key string, q url.Values, h http.Header, body []byte) (*http.Response, error) {
	path := "/" + s3Escape(bucket)
	if key != "" {
		path += "/" + s3Escape(key)
	}
	query := canonicalQuery(q)
	u := s.base + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	s.sign(req, path, query)
	resp, err := s.hc.Do(req)
	if err != nil {
		// The gateway proxies: once connected, the target may have acted.
		return nil, &hopError{toTarget: true, dial: isDial(err), err: err}
	}
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		e := &s3Error{Status: resp.StatusCode}
		if xml.Unmarshal(raw, e) != nil || e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return nil, e
	}
	return resp, nil
}

// sign adds a SigV4 Authorization header for an unsigned payload.
func (s *s3proto) sign(req *http.Request, path, query string) {
	t := s.now().UTC()
	amzDate := t.Format("20060102T150405Z")
	day := amzDate[:8]
	const payload = "UNSIGNED-PAYLOAD"
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payload)
	host := s.endpoint.Host
	signed := "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{req.Method, path, query,
		"host:" + host, "x-amz-content-sha256:" + payload, "x-amz-date:" + amzDate, "",
		signed, payload}, "\n")
	scope := day + "/" + s.region + "/s3/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+s.key), day)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, "s3")
	k = hmacSHA256(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(k, toSign))
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		s.id, scope, signed, sig))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// s3Escape URI-encodes a path as SigV4 wants it: every byte but unreserved characters and '/'.
func s3Escape(p string) string { return uriEncode(p, true) }

// canonicalQuery is SigV4's form of a query, also sent as is: names sorted, then values, each
// encoded once (a '/' too).
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k, false)+"="+uriEncode(v, false))
		}
	}
	return strings.Join(parts, "&")
}

func uriEncode(p string, keepSlash bool) string {
	var sb strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && keepSlash {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}
