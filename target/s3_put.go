package target

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// s3Object serves a data request that the gateway's S3 API signed with ais_s3=1: S3 headers,
// conditions and multipart uploads (docs/s3.md).
func (s *Server) s3Object(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	q := r.URL.Query()
	if !s3Request(r) {
		return fmt.Errorf("%w: %s %s", api.ErrMethodNotAllowed, r.Method, r.URL.Path)
	}
	_, hasUploads := q["uploads"]
	uploadID := q.Get("uploadId")
	if uploadID != "" {
		// The upload may sit on the object's previous owner (mpu_move.go).
		if err := s.ensureUpload(r.Context(), b, name, uploadID); err != nil {
			return err
		}
	}
	switch r.Method {
	case http.MethodPost:
		switch {
		case hasUploads:
			return s.mpuCreate(c, b, name)
		case uploadID != "":
			return s.mpuComplete(c, view, b, name, uploadID)
		}
		return fmt.Errorf("%w: POST needs ?uploads or ?uploadId", meta.ErrInvalidRequest)
	case http.MethodPut:
		if uploadID != "" {
			return s.mpuPutPart(c, b, name, uploadID, q.Get("partNumber"))
		}
		return s.s3Put(c, view, b, name)
	case http.MethodDelete:
		if uploadID != "" {
			return s.mpuAbort(c, b, name, uploadID)
		}
		prev := s.store.NewestMeta(b, name)
		err := s.store.Delete(b, name, b.Props.Write.Fsync)
		if err != nil && !isNotFound(err) {
			return err
		}
		if b.Props.EC.Enabled {
			s.ecDelete(r.Context(), view, b, name, prev) // ec_delete.go
		}
		return c.NoContent(http.StatusNoContent)
	default:
		if uploadID != "" && r.Method == http.MethodGet {
			return s.mpuListParts(c, b, name, uploadID)
		}
		return s.s3Get(c, view, b, name)
	}
}

func isNotFound(err error) bool { return meta.KindOf(err) == meta.KindNotExist }

// s3Sums are the hashes of one S3 write besides the bucket checksum.
type s3Sums struct {
	md5      hash.Hash // nil when the bucket checksum is MD5 already
	wantMD5  []byte    // Content-MD5
	sum      *s3Checksum
	sumHash  hash.Hash
	wantSum  string // base64, from x-amz-checksum-<alg>; "" to compute only
	sumValue string // computed, base64
}

// newS3Sums reads Content-MD5 and the S3 checksum headers of a write.
func newS3Sums(h http.Header, bucketType string) (*s3Sums, error) {
	ss := &s3Sums{}
	if bucketType != meta.ChecksumMD5 {
		ss.md5 = md5.New()
	}
	if v := h.Get("Content-MD5"); v != "" {
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(raw) != md5.Size {
			return nil, fmt.Errorf("%w: Content-MD5 %q is not a base64 MD5", meta.ErrBadDigest, v)
		}
		ss.wantMD5 = raw
	}
	for i := range s3Checksums {
		alg := &s3Checksums[i]
		if v := h.Get("x-amz-checksum-" + alg.name); v != "" {
			if ss.sum != nil {
				return nil, fmt.Errorf("%w: more than one x-amz-checksum-* header", meta.ErrInvalidRequest)
			}
			ss.sum, ss.wantSum = alg, v
		}
	}
	if ss.sum == nil {
		for _, k := range []string{HeaderS3Checksum, "x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"} {
			if v := h.Get(k); v != "" {
				if ss.sum = s3ChecksumOf(v); ss.sum == nil {
					return nil, fmt.Errorf("%w: checksum algorithm %q: use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256",
						meta.ErrInvalidRequest, v)
				}
				break
			}
		}
	}
	if ss.sum != nil {
		ss.sumHash = ss.sum.new()
	}
	return ss, nil
}

// hashes are the extra hashes to feed.
func (ss *s3Sums) hashes() []hash.Hash {
	var hs []hash.Hash
	if ss.md5 != nil {
		hs = append(hs, ss.md5)
	}
	if ss.sumHash != nil {
		hs = append(hs, ss.sumHash)
	}
	return hs
}

// finish checks the client's digests against the body's and returns the MD5.
func (ss *s3Sums) finish(rec *ObjectMeta) ([]byte, error) {
	sum := rec.Checksum
	if ss.md5 != nil {
		sum = ss.md5.Sum(nil)
	}
	if ss.wantMD5 != nil && !bytes.Equal(sum, ss.wantMD5) {
		return nil, fmt.Errorf("%w: Content-MD5 %x, body %x", meta.ErrBadDigest, ss.wantMD5, sum)
	}
	if ss.sumHash != nil {
		ss.sumValue = b64(ss.sumHash.Sum(nil))
		if ss.wantSum != "" && ss.wantSum != ss.sumValue {
			return nil, fmt.Errorf("%w: x-amz-checksum-%s %s, body %s", meta.ErrBadDigest, ss.sum.name, ss.wantSum, ss.sumValue)
		}
	}
	return sum, nil
}

// s3Put is PutObject: the body streams to the store once, hashed by the bucket checksum, MD5
// (the ETag) and an S3 checksum if asked, all in that one pass.
func (s *Server) s3Put(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	custom, err := s3Attrs(r.Header)
	if err != nil {
		return err
	}
	ss, err := newS3Sums(r.Header, b.Props.Checksum.Type)
	if err != nil {
		return err
	}
	guard, err := s.s3PutCondition(r.Header, b, name)
	if err != nil {
		return err
	}
	m, err := s.store.Put(r.Context(), PutArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name,
		Body: r.Body, Size: r.ContentLength, Extra: ss.hashes(), Custom: custom, Guard: guard,
		Finish: func(rec *ObjectMeta) error {
			sum, err := ss.finish(rec)
			if err != nil {
				return err
			}
			rec.Custom[customETag] = fmt.Sprintf("%x", sum)
			if ss.sumValue != "" {
				rec.Custom[customSum+ss.sum.name] = ss.sumValue
			}
			return nil
		}})
	if err != nil {
		return err
	}
	if err := s.handOverLate(r.Context(), view, b, name); err != nil { // http_object.go
		return err
	}
	if err := s.ecAfterWrite(r.Context(), view, b, name); err != nil { // ec_put.go
		return err
	}
	h := c.Response().Header()
	setObjectHeaders(h, m)
	h.Set("ETag", `"`+m.S3ETag()+`"`)
	if ss.sumValue != "" {
		h.Set("x-amz-checksum-"+ss.sum.name, ss.sumValue)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	return c.NoContent(http.StatusOK)
}

// s3PutCondition checks If-None-Match: * and If-Match of a PUT against the stored object
// now (to refuse before the body is read) and returns the guard that checks again under the
// object's lock when the new version goes in.
func (s *Server) s3PutCondition(h http.Header, b *meta.Bucket, name string) (func(*ObjectMeta) error, error) {
	inm, im := strings.TrimSpace(h.Get("If-None-Match")), strings.TrimSpace(h.Get("If-Match"))
	if inm == "" && im == "" {
		return nil, nil
	}
	if inm != "" && inm != "*" {
		return nil, fmt.Errorf("%w: If-None-Match on a write takes only *", meta.ErrInvalidRequest)
	}
	guard := func(cur *ObjectMeta) error {
		if inm == "*" && cur != nil {
			return fmt.Errorf("%w: If-None-Match: * and the object exists", meta.ErrPrecondition)
		}
		if im != "" {
			if cur == nil {
				return fmt.Errorf("%w: If-Match and the object does not exist", meta.ErrObjectNotFound)
			}
			if !etagMatch(im, cur.S3ETag()) {
				return fmt.Errorf("%w: If-Match %s, object's ETag \"%s\"", meta.ErrPrecondition, im, cur.S3ETag())
			}
		}
		return nil
	}
	var cur *ObjectMeta
	if o, err := s.store.Open(b, name); err == nil {
		cur = o.Meta
		_ = o.Close()
	} else if !isNotFound(err) {
		return nil, err
	}
	if err := guard(cur); err != nil {
		return nil, err
	}
	return guard, nil
}

// etagMatch reports whether a list of entity tags (If-Match, If-None-Match: "a", W/"b", *)
// names etag (unquoted).
func etagMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}
