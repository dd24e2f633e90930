package target

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// S3 attributes of an object live in its record's custom metadata under these keys, so the
// record format does not change for them:
//
//	s3.etag        the S3 entity tag without quotes: the MD5 of the object in hex, or for a
//	               multipart object the MD5 of its parts' MD5s, "-" and the number of parts
//	s3.h.<name>    a content header stored and returned as is (content-type, ...)
//	s3.m.<name>    user metadata (x-amz-meta-<name>), name in lower case
//	s3.ck.<alg>    an S3 checksum (crc32, crc32c, crc64nvme, sha1, sha256), base64 as on the
//	               wire; for a multipart object a composite one ends in "-N"
//	s3.parts       part sizes of a multipart object (partsEncode)
const (
	customETag    = "s3.etag"
	customHeader  = "s3.h."
	customUser    = "s3.m."
	customSum     = "s3.ck."
	customParts   = "s3.parts"
	s3UserMetaMax = 2 << 10 // bytes of x-amz-meta-* names and values, as S3
)

// QueryS3 on a signed target URL asks for S3 semantics (headers, conditions, multipart);
// the gateway's S3 API sets it.
const QueryS3 = "ais_s3"

// HeaderS3Checksum names an S3 checksum algorithm to compute and store although no value came
// with the request (the client sends it in a trailer, which the gateway verifies).
const HeaderS3Checksum = "Ais-S3-Checksum"

// s3ContentHeaders are the content headers an object keeps and returns.
var s3ContentHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition",
	"Cache-Control", "Expires", "Content-Language"}

// s3Request reports whether a request asked for S3 semantics.
func s3Request(r *http.Request) bool {
	v := api.QueryValue(r.URL.RawQuery, QueryS3)
	return v == "1" || v == "true"
}

// S3ETag returns an object's S3 entity tag, unquoted: the stored one, the MD5 checksum of an
// md5 bucket, or else the native tag.
func (m *ObjectMeta) S3ETag() string {
	if e := m.Custom[customETag]; e != "" {
		return e
	}
	if m.ChecksumType == meta.ChecksumMD5 && len(m.Checksum) > 0 {
		return m.ChecksumHex()
	}
	return strings.Trim(m.ETag(), `"`)
}

// listCustom keeps, of a record's custom metadata, what a listing shows (the S3 ETag).
func listCustom(c map[string]string) map[string]string {
	if e, ok := c[customETag]; ok {
		return map[string]string{customETag: e}
	}
	return nil
}

// currentMeta returns the record of the object now stored at path, or nil.
func (s *Store) currentMeta(path string, b *meta.Bucket, name string) *ObjectMeta {
	raw, err := s.fs.GetXattr(path, xattrMeta)
	if err != nil {
		return nil
	}
	m, err := decodeObjMeta(raw)
	if err != nil || m.BucketID != b.ID || m.Name != name {
		return nil
	}
	return m
}

// s3Attrs reads the content headers and user metadata of a PUT or CreateMultipartUpload
// into custom metadata.
func s3Attrs(h http.Header) (map[string]string, error) {
	c := map[string]string{}
	for _, k := range s3ContentHeaders {
		if v := h.Get(k); v != "" {
			c[customHeader+strings.ToLower(k)] = v
		}
	}
	size := 0
	for k, vs := range h {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, "x-amz-meta-")
		if !ok || name == "" {
			continue
		}
		v := strings.Join(vs, ",")
		size += len(name) + len(v)
		c[customUser+name] = v
	}
	if size > s3UserMetaMax {
		return nil, fmt.Errorf("%w: %d bytes of x-amz-meta-* names and values; the limit is %d",
			meta.ErrMetadataTooLarge, size, s3UserMetaMax)
	}
	return c, nil
}

// setS3Headers sets the S3 headers of an object on GET, HEAD and PUT answers. Checksums are
// sent when withSums is set (x-amz-checksum-mode: ENABLED, or a PUT).
func setS3Headers(h http.Header, m *ObjectMeta, withSums bool) {
	h.Set("ETag", `"`+m.S3ETag()+`"`)
	h.Set("Last-Modified", time.Unix(0, m.Mtime).UTC().Format(http.TimeFormat))
	for k, v := range m.Custom {
		switch {
		case strings.HasPrefix(k, customHeader):
			h.Set(k[len(customHeader):], v)
		case strings.HasPrefix(k, customUser):
			h["X-Amz-Meta-"+k[len(customUser):]] = []string{v}
		case withSums && strings.HasPrefix(k, customSum):
			alg := k[len(customSum):]
			h.Set("x-amz-checksum-"+alg, v)
			if strings.Contains(v, "-") {
				h.Set("x-amz-checksum-type", "COMPOSITE")
			} else {
				h.Set("x-amz-checksum-type", "FULL_OBJECT")
			}
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "binary/octet-stream")
	}
	if parts := partsDecode(m.Custom[customParts]); len(parts) > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(len(parts)))
	}
}

// s3Checksum is an S3 additional checksum algorithm.
type s3Checksum struct {
	name string // as in x-amz-checksum-<name>
	new  func() hash.Hash
}

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var s3Checksums = []s3Checksum{
	{"crc32", func() hash.Hash { return crc32.NewIEEE() }},
	{"crc32c", func() hash.Hash { return crc32.New(crcTable) }},
	{"crc64nvme", func() hash.Hash { return crc64.New(crc64NVME) }},
	{"sha1", sha1.New},
	{"sha256", sha256.New},
}

// s3ChecksumOf returns the algorithm of a name (any case), or nil.
func s3ChecksumOf(name string) *s3Checksum {
	name = strings.ToLower(name)
	for i := range s3Checksums {
		if s3Checksums[i].name == name {
			return &s3Checksums[i]
		}
	}
	return nil
}

// partsEncode writes part sizes compactly: "N:S:L" when the N parts are all of size S but
// the last (of size L), else the sizes separated by commas. An encoding longer than limit is
// dropped ("") and GET with partNumber then answers for the whole object only.
func partsEncode(sizes []int64, limit int) string {
	n := len(sizes)
	if n == 0 {
		return ""
	}
	uniform := true
	for _, s := range sizes[:n-1] {
		if s != sizes[0] {
			uniform = false
			break
		}
	}
	if uniform {
		return fmt.Sprintf("%d:%d:%d", n, sizes[0], sizes[n-1])
	}
	var b strings.Builder
	for i, s := range sizes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(s, 10))
		if b.Len() > limit {
			return ""
		}
	}
	return b.String()
}

// partsDecode reads partsEncode's output; anything malformed is no parts.
func partsDecode(s string) []int64 {
	if s == "" {
		return nil
	}
	if f := strings.Split(s, ":"); len(f) == 3 {
		n, e1 := strconv.Atoi(f[0])
		size, e2 := strconv.ParseInt(f[1], 10, 64)
		last, e3 := strconv.ParseInt(f[2], 10, 64)
		if e1 != nil || e2 != nil || e3 != nil || n < 1 || n > maxParts {
			return nil
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = size
		}
		out[n-1] = last
		return out
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// md5Hex is a convenience for tests and the multipart ETag.
func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// b64 is the encoding of checksum values on the wire.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
