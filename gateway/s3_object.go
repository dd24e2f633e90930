package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// checkContentMD5 checks a Content-MD5 header (if any) against a body read whole.
func checkContentMD5(h http.Header, body []byte) error {
	want, err := contentMD5(h)
	if err != nil || want == nil {
		return err
	}
	if got := md5.Sum(body); !bytes.Equal(got[:], want) {
		return fmt.Errorf("%w: Content-MD5", meta.ErrBadDigest)
	}
	return nil
}

// contentMD5 decodes a Content-MD5 header: nil without one, InvalidDigest if malformed.
func contentMD5(h http.Header) ([]byte, error) {
	v := h.Get("Content-Md5")
	if v == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(raw) != md5.Size {
		return nil, fmt.Errorf("%w: Content-MD5 %q is not the base64 of 16 bytes", errS3InvalidDigest, v)
	}
	return raw, nil
}

// checkChecksumHeaders checks the form of x-amz-checksum-* values sent with a write.
func checkChecksumHeaders(h http.Header) error {
	for _, alg := range []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256"} {
		v := h.Get("x-amz-checksum-" + alg)
		if v == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(raw) != s3Hash(alg)().Size() {
			return fmt.Errorf("%w: x-amz-checksum-%s %q", errS3InvalidDigest, alg, v)
		}
	}
	return nil
}

// checkChecksums checks x-amz-checksum-* headers (if any) against a body read whole.
func checkChecksums(h http.Header, body []byte) error {
	if err := checkChecksumHeaders(h); err != nil {
		return err
	}
	for _, alg := range []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256"} {
		v := h.Get("x-amz-checksum-" + alg)
		if v == "" {
			continue
		}
		hh := s3Hash(alg)()
		hh.Write(body)
		if got := base64.StdEncoding.EncodeToString(hh.Sum(nil)); got != v {
			return fmt.Errorf("%w: x-amz-checksum-%s %s, computed %s", meta.ErrBadDigest, alg, v, got)
		}
	}
	return nil
}

// writeBody checks the headers of a write and returns its body, ready to stream.
func (g *Gateway) writeBody(sr *s3Req) (*s3Body, error) {
	if _, err := contentMD5(sr.r.Header); err != nil {
		return nil, err
	}
	if err := checkChecksumHeaders(sr.r.Header); err != nil {
		return nil, err
	}
	body, err := newS3Body(sr.r, sr.sig, g.cfg.S3.MaxChunk)
	if err != nil {
		return nil, err
	}
	if body.size > g.cfg.S3.MaxPutSize {
		return nil, fmt.Errorf("%w: %d bytes; the limit of one PUT is %d", api.ErrEntityTooLarge, body.size, g.cfg.S3.MaxPutSize)
	}
	return body, nil
}

// writeHeaders are the headers of a write for the target.
func writeHeaders(sr *s3Req, body *s3Body) http.Header {
	h := clientHeaders(sr.r)
	if body.trailerSum != "" {
		h.Set(headerS3Checksum, body.trailerSum)
	}
	return h
}

// s3PutObject is PutObject (also conditional: If-None-Match: *, If-Match).
func (g *Gateway) s3PutObject(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	body, err := g.writeBody(sr)
	if err != nil {
		return err
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodPut, bucket: b, key: sr.key,
		header: writeHeaders(sr, body), body: body, size: body.size})
	if err != nil {
		return err
	}
	resp.Body.Close()
	h := sr.w.Header()
	copyAnswerHeaders(h, resp.Header)
	for _, k := range []string{"Last-Modified", "Content-Type", "Content-Length"} {
		h.Del(k)
	}
	return noContent(sr, http.StatusOK)
}

// objectQuery is what GetObject and HeadObject pass on to the target.
func objectQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		if strings.HasPrefix(k, "response-") || k == "partNumber" {
			out[k] = vs
		}
	}
	return out
}

// s3GetObject is GetObject and HeadObject: streamed through the gateway, or with S3.Redirect
// a 307 to the owner's signed URL.
func (g *Gateway) s3GetObject(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accRead)
	if err != nil {
		return err
	}
	tc := &targetCall{method: sr.r.Method, bucket: b, key: sr.key, query: objectQuery(sr.query), header: clientHeaders(sr.r)}
	if g.cfg.S3.Redirect {
		_, u, err := g.targetURLFor(sr.r.Context(), tc, false)
		if err != nil {
			return err
		}
		sr.w.Header().Set("Location", u)
		return noContent(sr, http.StatusTemporaryRedirect)
	}
	if sr.r.Method == http.MethodGet {
		err = g.s3SpliceGet(sr, tc)
	} else {
		var resp *http.Response
		if resp, err = g.targetDo(sr.r.Context(), sr, tc); err == nil {
			err = relay(sr, resp)
		}
	}
	if err != nil {
		if sr.query.Get("partNumber") != "" && errors.Is(err, meta.ErrRangeNotSatisfiable) {
			return fmt.Errorf("%w: %w", errS3InvalidPartNumber, err)
		}
		return err
	}
	return nil
}

// s3DeleteObject is DeleteObject: 204, also for a key that does not exist.
func (g *Gateway) s3DeleteObject(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodDelete, bucket: b, key: sr.key})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return noContent(sr, http.StatusNoContent)
}

// s3DeleteObjects is DeleteObjects: up to 1000 keys, deleted in parallel; a missing key counts
// as deleted; Quiet answers only the failures.
func (g *Gateway) s3DeleteObjects(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	raw, err := g.readXMLBody(sr)
	if err != nil {
		return err
	}
	var req deleteRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("%w: Delete: %v", errS3MalformedXML, err)
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return fmt.Errorf("%w: Delete lists 1 to 1000 objects", errS3MalformedXML)
	}
	res := deleteResult{NS: s3NS}
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(sr.r.Context())
	eg.SetLimit(16)
	for _, o := range req.Objects {
		eg.Go(func() error {
			var err error
			switch {
			case o.VersionID != "" && o.VersionID != "null":
				err = fmt.Errorf("%w: object versions", errS3NotImplemented)
			case len(o.Key) > meta.MaxObjectNameLen:
				err = errS3KeyTooLong
			default:
				if err = meta.ValidateObjectName(o.Key); err == nil {
					var resp *http.Response
					resp, err = g.targetDo(ctx, sr, &targetCall{method: http.MethodDelete, bucket: b, key: o.Key})
					if err == nil {
						resp.Body.Close()
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				code, _, msg := s3Wire(err)
				res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, Code: code, Message: msg})
			} else if !req.Quiet {
				res.Deleted = append(res.Deleted, deletedEntry{Key: o.Key})
			}
			return nil
		})
	}
	_ = eg.Wait()
	return writeXML(sr, http.StatusOK, res)
}

// copySource parses x-amz-copy-source: [/]bucket/key[?versionId=null], URL-encoded.
func copySource(h string) (bucket, key string, err error) {
	src, err := url.PathUnescape(h)
	if err != nil {
		return "", "", fmt.Errorf("%w: x-amz-copy-source %q", errS3InvalidArgument, h)
	}
	if p, v, ok := strings.Cut(src, "?"); ok {
		if v != "versionId=null" {
			return "", "", fmt.Errorf("%w: x-amz-copy-source with a version", errS3NotImplemented)
		}
		src = p
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if err := validS3BucketName(bucket); err != nil {
		return "", "", err
	}
	if len(key) > meta.MaxObjectNameLen {
		return "", "", errS3KeyTooLong
	}
	if err := meta.ValidateObjectName(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// openCopySource GETs the source of a copy (with x-amz-copy-source-if-* as conditions and an
// optional range) from its owner.
func (g *Gateway) openCopySource(sr *s3Req, rangeHdr string) (*http.Response, error) {
	sb, sk, err := copySource(sr.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return nil, err
	}
	src := &s3Req{r: sr.r, user: sr.user, bucket: sb, key: sk, id: sr.id}
	_, b, err := g.s3Bucket(src, accRead)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, c := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := sr.r.Header.Get("X-Amz-Copy-Source-" + c); v != "" {
			h.Set(c, v)
		}
	}
	if rangeHdr != "" {
		h.Set("Range", rangeHdr)
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodGet, bucket: b, key: sk, header: h})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: x-amz-copy-source-if-none-match or -if-modified-since", meta.ErrPrecondition)
	}
	return resp, nil
}

// copyHeaders are the attributes an object copies from its source's answer.
var copyHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Cache-Control", "Expires", "Content-Language"}

// s3CopyObject is CopyObject: the source streams through the gateway into a PUT of the
// destination; metadata COPY (default) takes the source's content headers and user metadata,
// REPLACE the request's.
func (g *Gateway) s3CopyObject(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	directive := sr.r.Header.Get("X-Amz-Metadata-Directive")
	switch directive {
	case "", "COPY", "REPLACE":
	default:
		return fmt.Errorf("%w: x-amz-metadata-directive %q", errS3InvalidArgument, directive)
	}
	sb, sk, err := copySource(sr.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if sb == sr.bucket && sk == sr.key && directive != "REPLACE" {
		return fmt.Errorf("%w: this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes", errS3InvalidRequest)
	}
	src, err := g.openCopySource(sr, "")
	if err != nil {
		return err
	}
	defer src.Body.Close()
	h := http.Header{}
	if directive == "REPLACE" {
		h = clientHeaders(sr.r)
		for k := range h {
			if strings.HasPrefix(k, "X-Amz-Copy-Source") || strings.HasPrefix(k, "If-") || k == "X-Amz-Metadata-Directive" {
				delete(h, k)
			}
		}
	} else {
		for _, k := range copyHeaders {
			if v := src.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		for k, vs := range src.Header {
			if strings.HasPrefix(k, "X-Amz-Meta-") {
				h[k] = vs
			}
		}
	}
	for _, k := range []string{"If-Match", "If-None-Match"} {
		if v := sr.r.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodPut, bucket: b, key: sr.key,
		header: h, raw: src.Body, size: src.ContentLength})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return writeXML(sr, http.StatusOK, copyObjectResult{NS: s3NS, ETag: resp.Header.Get("ETag"),
		LastModified: lastModified(resp.Header)})
}

// lastModified turns an answer's Last-Modified into S3's XML time.
func lastModified(h http.Header) string {
	t, err := http.ParseTime(h.Get("Last-Modified"))
	if err != nil {
		t = time.Now()
	}
	return s3Time(t.UnixNano())
}
