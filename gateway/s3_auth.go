package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// AWS Signature Version 4 as S3 uses it (docs/s3.md): the Authorization header, presigned
// query parameters, and the per-chunk signatures of aws-chunked bodies (s3_chunked.go).

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	scopeTerminal   = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	// x-amz-content-sha256 values of aws-chunked bodies.
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	emptySHA256            = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// maxPresignExpiry is the longest X-Amz-Expires S3 accepts: 7 days.
	maxPresignExpiry = 7 * 24 * time.Hour
)

// sigV4 is a verified (or to-be-verified) SigV4 request signature.
type sigV4 struct {
	accessKey     string
	amzDate       string // as signed, 20060102T150405Z
	date          time.Time
	scope         string // 20060102/region/s3/aws4_request
	region        string
	signedHeaders []string
	signature     string
	payloadHash   string // x-amz-content-sha256, or UNSIGNED-PAYLOAD for presigned URLs
	presigned     bool
	expires       time.Duration
	key           []byte // the derived signing key, once verified
}

// parseAuthHeader parses "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthHeader(h string) (*sigV4, error) {
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return nil, fmt.Errorf("%w: algorithm must be %s", errS3UnsupportedSignature, sigAlgorithm)
	}
	sv := &sigV4{}
	var cred, signed string
	for _, f := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return nil, fmt.Errorf("%w: field %q is not key=value", errS3AuthHeader, f)
		}
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sv.signature = v
		default:
			return nil, fmt.Errorf("%w: unknown field %q", errS3AuthHeader, k)
		}
	}
	if cred == "" || signed == "" || sv.signature == "" {
		return nil, fmt.Errorf("%w: Credential, SignedHeaders and Signature are required", errS3AuthHeader)
	}
	if err := sv.setCredential(cred, errS3AuthHeader); err != nil {
		return nil, err
	}
	sv.signedHeaders = strings.Split(signed, ";")
	return sv, sv.checkSignedHeaders(errS3AuthHeader)
}

// setCredential parses AKID/DATE/REGION/s3/aws4_request.
func (sv *sigV4) setCredential(cred string, malformed error) error {
	f := strings.Split(cred, "/")
	if len(f) != 5 || f[0] == "" || len(f[1]) != 8 || f[2] == "" || f[4] != scopeTerminal {
		return fmt.Errorf("%w: credential %q: want ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request", malformed, cred)
	}
	if f[3] != "s3" {
		return fmt.Errorf("%w: credential service %q: this endpoint serves s3", malformed, f[3])
	}
	sv.accessKey, sv.region = f[0], f[2]
	sv.scope = strings.Join(f[1:], "/")
	return nil
}

func (sv *sigV4) checkSignedHeaders(malformed error) error {
	if !slices.IsSorted(sv.signedHeaders) {
		sorted := slices.Clone(sv.signedHeaders)
		slices.Sort(sorted)
		sv.signedHeaders = sorted
	}
	if !slices.Contains(sv.signedHeaders, "host") {
		return fmt.Errorf("%w: SignedHeaders must include host", malformed)
	}
	for _, h := range sv.signedHeaders {
		if h == "" || strings.ToLower(h) != h {
			return fmt.Errorf("%w: SignedHeaders must be lower-case names separated by ';'", malformed)
		}
	}
	return nil
}

// parseHeaderAuth reads the signature of a request signed in its Authorization header.
func parseHeaderAuth(r *http.Request, now time.Time, maxSkew time.Duration) (*sigV4, error) {
	sv, err := parseAuthHeader(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	sv.amzDate = r.Header.Get("X-Amz-Date")
	if sv.amzDate != "" {
		if sv.date, err = time.Parse(amzDateFormat, sv.amzDate); err != nil {
			return nil, fmt.Errorf("%w: X-Amz-Date %q: want 20060102T150405Z", errS3AuthHeader, sv.amzDate)
		}
	} else {
		d := r.Header.Get("Date")
		if sv.date, err = http.ParseTime(d); err != nil {
			return nil, fmt.Errorf("%w: a valid X-Amz-Date or Date header is required", errS3AuthHeader)
		}
		sv.amzDate = sv.date.UTC().Format(amzDateFormat)
	}
	if !strings.HasPrefix(sv.scope, sv.amzDate[:8]+"/") {
		return nil, fmt.Errorf("%w: credential date %s is not the request's date %s", errS3AuthHeader, sv.scope[:8], sv.amzDate[:8])
	}
	if skew := now.Sub(sv.date); skew > maxSkew || skew < -maxSkew {
		return nil, fmt.Errorf("%w: request time %s, server time %s", errS3TimeSkewed, sv.date.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	sv.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	if sv.payloadHash == "" {
		return nil, fmt.Errorf("%w: missing required header for this request: x-amz-content-sha256", errS3InvalidRequest)
	}
	return sv, nil
}

// parsePresigned reads the signature of a presigned URL and checks its validity period.
func parsePresigned(q url.Values, now time.Time, maxSkew time.Duration) (*sigV4, error) {
	if a := q.Get("X-Amz-Algorithm"); a != sigAlgorithm {
		return nil, fmt.Errorf("%w: X-Amz-Algorithm %q: only %s is supported", errS3AuthQuery, a, sigAlgorithm)
	}
	sv := &sigV4{presigned: true, signature: q.Get("X-Amz-Signature"), amzDate: q.Get("X-Amz-Date")}
	if err := sv.setCredential(q.Get("X-Amz-Credential"), errS3AuthQuery); err != nil {
		return nil, err
	}
	if sv.signature == "" {
		return nil, fmt.Errorf("%w: X-Amz-Signature is required", errS3AuthQuery)
	}
	var err error
	if sv.date, err = time.Parse(amzDateFormat, sv.amzDate); err != nil {
		return nil, fmt.Errorf("%w: X-Amz-Date %q: want 20060102T150405Z", errS3AuthQuery, sv.amzDate)
	}
	if !strings.HasPrefix(sv.scope, sv.amzDate[:8]+"/") {
		return nil, fmt.Errorf("%w: credential date is not the request's date", errS3AuthQuery)
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 1 {
		return nil, fmt.Errorf("%w: X-Amz-Expires must be a positive number of seconds", errS3AuthQuery)
	}
	if sv.expires = time.Duration(secs) * time.Second; sv.expires > maxPresignExpiry {
		return nil, fmt.Errorf("%w: X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds", errS3AuthQuery)
	}
	sv.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if err := sv.checkSignedHeaders(errS3AuthQuery); err != nil {
		return nil, err
	}
	if now.Before(sv.date.Add(-maxSkew)) {
		return nil, fmt.Errorf("%w: request is not valid yet (X-Amz-Date %s)", meta.ErrPermission, sv.amzDate)
	}
	if now.After(sv.date.Add(sv.expires)) {
		return nil, fmt.Errorf("%w: expired at %s", errS3Expired, sv.date.Add(sv.expires).UTC().Format(time.RFC3339))
	}
	sv.payloadHash = q.Get("X-Amz-Content-Sha256")
	if sv.payloadHash == "" {
		sv.payloadHash = unsignedPayload
	}
	return sv, nil
}

// verify computes the request's signature with secret and compares it with the one sent.
func (sv *sigV4) verify(r *http.Request, secret string) error {
	canonical := canonicalRequest(r, sv)
	sts := sv.stringToSign(canonical)
	sv.key = signingKey(secret, sv.scope)
	got := hex.EncodeToString(hmacSHA256(sv.key, []byte(sts)))
	if !hmac.Equal([]byte(got), []byte(sv.signature)) {
		return &sigDetail{err: errS3SignatureMismatch, accessKey: sv.accessKey, stringToSign: sts, canonical: canonical}
	}
	return nil
}

func (sv *sigV4) stringToSign(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return sigAlgorithm + "\n" + sv.amzDate + "\n" + sv.scope + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the key of a scope (date/region/service/aws4_request) from a secret.
func signingKey(secret, scope string) []byte {
	k := []byte("AWS4" + secret)
	for _, part := range strings.Split(scope, "/") {
		k = hmacSHA256(k, []byte(part))
	}
	return k
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// canonicalRequest is SigV4's canonical form of a request: method, URI, query, headers,
// signed header names and payload hash, one per line.
func canonicalRequest(r *http.Request, sv *sigV4) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.Path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery, sv.presigned))
	b.WriteByte('\n')
	for _, name := range sv.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(sv.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(sv.payloadHash)
	return b.String()
}

// canonicalURI encodes the decoded path once, as S3 does (no normalization, no double
// encoding); '/' stays.
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	return uriEncode(path, false)
}

// canonicalQuery sorts the query's parameters by name, then value, each encoded once;
// X-Amz-Signature is left out of presigned URLs.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var ps []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		ps = append(ps, kv{uriEncode(k, true), uriEncode(v, true)})
	}
	slices.SortFunc(ps, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes %XX; '+' stays a plus (clients that sign encode a space as %20).
// A malformed escape is kept as it is.
func queryUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// parseS3Query parses a raw query the way the signature does, so the values a request acts
// on are the values it signed.
func parseS3Query(raw string) url.Values {
	q := url.Values{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		q[queryUnescape(k)] = append(q[queryUnescape(k)], queryUnescape(v))
	}
	return q
}

// uriEncode percent-encodes every byte but the unreserved characters (A-Z a-z 0-9 - _ . ~)
// and, unless encodeSlash, '/'.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// canonicalHeaderValue is a signed header's value: all its values joined by ',', each trimmed
// with inner runs of spaces made one.
func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 && r.ContentLength >= 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		vals = r.TransferEncoding
	default:
		vals = r.Header.Values(name)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}
