package target

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Listing page sizes of GET /v1/internal/objects/{bucket}.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

// listObjects answers GET /v1/internal/objects/{bucket}?prefix=P&start_after=S&limit=N on the
// control listener: one page of this target's objects of the bucket, sorted by name.
func (s *Server) listObjects(c echo.Context) error {
	r := c.Request()
	bucket := c.Param("bucket")
	if err := meta.ValidateBucketName(bucket); err != nil {
		return err
	}
	q := r.URL.Query()
	limit := DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: limit %q must be a non-negative integer", meta.ErrInvalidRequest, v)
		}
		if n > 0 {
			limit = min(n, MaxListLimit)
		}
	}
	view := s.follower.Current()
	want := uint64(1)
	if v := r.Header.Get(api.HeaderEpoch); v != "" {
		e, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s %q", meta.ErrInvalidRequest, api.HeaderEpoch, v)
		}
		want = max(e, 1)
	}
	if view == nil || view.Snap.Epoch < want {
		var err error
		if view, err = s.waitEpoch(r.Context(), want); err != nil {
			return err
		}
	}
	c.Response().Header().Set(api.HeaderEpoch, strconv.FormatUint(view.Snap.Epoch, 10))
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		return fmt.Errorf("%w: ais://%s at epoch %d", meta.ErrBucketNotFound, bucket, view.Snap.Epoch)
	}
	ms, more, err := s.store.List(r.Context(), &b, ListArgs{Prefix: q.Get("prefix"),
		StartAfter: q.Get("start_after"), Limit: limit})
	if err != nil {
		return err
	}
	out := api.TargetObjectList{ObjectList: api.ObjectList{Entries: make([]api.ObjectEntry, 0, len(ms))}}
	for i := range ms {
		m := &ms[i]
		e := api.ObjectEntry{Name: m.Name, Size: m.Size, Version: m.Version, Mtime: m.Mtime, ETag: m.S3ETag(), Epoch: m.Epoch}
		if len(m.Checksum) > 0 {
			e.Checksum = m.ChecksumType + ":" + m.ChecksumHex()
		}
		out.Entries = append(out.Entries, e)
	}
	if more && len(ms) > 0 {
		out.NextToken = ms[len(ms)-1].Name
	}
	if s.reb.unsettled(view) {
		last := ""
		if more && len(ms) > 0 {
			last = ms[len(ms)-1].Name // the page knows nothing past its last name
		}
		out.Tombstones = s.reb.tombs.inRange(&b, q.Get("prefix"), q.Get("start_after"), last)
	}
	return c.JSON(http.StatusOK, out)
}
