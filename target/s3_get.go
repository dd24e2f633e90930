package target

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// s3Overrides are the query parameters of GetObject that replace answer headers.
var s3Overrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// s3Get answers GetObject and HeadObject: conditions (If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since, as RFC 9110 orders them), a range or a part
// (partNumber), response-* overrides and the S3 headers.
func (s *Server) s3Get(c echo.Context, view *api.View, b *meta.Bucket, name string) error {
	r := c.Request()
	q := r.URL.Query()
	verify := r.Method == http.MethodGet && b.Props.Checksum.ValidateRead
	obj, err := s.openForRead(b, name, verify) // mirror_read.go: least busy copy, hashed if verify
	if err != nil && restorable(err) {
		// Restore on read, as in getObject (http_object.go): mirror copies, then EC.
		obj, err = s.restoreFromMirror(r.Context(), b, view.Snap.Epoch, name, verify, err)
	}
	obj, err = s.restoreFromEC(r.Context(), b, name, obj, err) // ec_restore.go
	if err != nil {
		return err
	}
	defer obj.Close()
	m := obj.Meta
	if m.EC.Sliced() {
		return s.getSliced(c, b, m, verify) // ec_restore.go: the bytes live only in slices
	}
	h := c.Response().Header()
	full := q.Get("partNumber") == "" && r.Header.Get("Range") == ""
	setS3Headers(h, m, full && strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED"))
	if status := s3Condition(r, m); status != 0 {
		if status == http.StatusPreconditionFailed {
			h.Del("Content-Type")
			return fmt.Errorf("%w: %s/%s", meta.ErrPrecondition, b.Key(), name)
		}
		for _, k := range []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "x-amz-mp-parts-count"} {
			h.Del(k)
		}
		c.Response().WriteHeader(http.StatusNotModified)
		return nil
	}
	off, n, partial := int64(0), m.Size, false
	if pn := q.Get("partNumber"); pn != "" {
		if off, n, partial, err = partRange(pn, m); err != nil {
			return err
		}
	} else {
		if off, n, partial, err = parseRange(r.Header.Get("Range"), m.Size); err != nil {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", m.Size))
			return err
		}
	}
	for k, hk := range s3Overrides {
		if v := q.Get(k); v != "" {
			h.Set(hk, v)
		}
	}
	h.Set("Accept-Ranges", "bytes")
	status, done := rangeHeader(c, m.Size, off, n, partial)
	if done {
		return nil
	}
	return s.sendRange(c, b, obj, status, off, n)
}

// s3Condition evaluates the conditional headers of a read: 0 to go on, 412 or 304.
func s3Condition(r *http.Request, m *ObjectMeta) int {
	etag := m.S3ETag()
	mtime := time.Unix(0, m.Mtime).UTC().Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagMatch(im, etag) {
			return http.StatusPreconditionFailed
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mtime.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatch(inm, etag) {
			return http.StatusNotModified
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !mtime.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// errInvalidPartNumber is a partNumber beyond the object's parts.
var errInvalidPartNumber = errors.New("the requested part number is not satisfiable")

// partRange is the byte range of part pn (1-based) of an object. An object stored in one
// piece has one part.
func partRange(pn string, m *ObjectMeta) (off, n int64, partial bool, err error) {
	k, err := strconv.Atoi(pn)
	if err != nil || k < 1 || k > maxParts {
		return 0, 0, false, fmt.Errorf("%w: partNumber %q must be 1 to %d", meta.ErrInvalidRequest, pn, maxParts)
	}
	sizes := partsDecode(m.Custom[customParts])
	if len(sizes) == 0 {
		if k == 1 {
			return 0, m.Size, false, nil
		}
		return 0, 0, false, fmt.Errorf("%w: %w: part %d of an object of 1 part", meta.ErrRangeNotSatisfiable, errInvalidPartNumber, k)
	}
	if k > len(sizes) {
		return 0, 0, false, fmt.Errorf("%w: %w: part %d of an object of %d parts", meta.ErrRangeNotSatisfiable, errInvalidPartNumber, k, len(sizes))
	}
	for _, s := range sizes[:k-1] {
		off += s
	}
	return off, sizes[k-1], true, nil
}
