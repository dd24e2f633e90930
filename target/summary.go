package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/meta"
)

// summaryRoutes adds the control listener's bucket summary (the gateway sums it over targets):
//
//	GET /v1/internal/summary/{bucket} -> api.TargetSummary
func (s *Server) summaryRoutes(e *echo.Echo) {
	e.GET("/v1/internal/summary/:bucket", func(c echo.Context) error {
		name := c.Param("bucket")
		if err := meta.ValidateBucketName(name); err != nil {
			return err
		}
		b, _, ok := s.currentBucket(meta.ProviderAIS, name, 0)
		if !ok {
			return fmt.Errorf("target: summary: %w: ais://%s", meta.ErrBucketNotFound, name)
		}
		ts, err := s.store.Summary(c.Request().Context(), b)
		if err != nil {
			return err
		}
		ts.Node = s.id
		return c.JSON(http.StatusOK, ts)
	})
}

// Summary counts a bucket's objects (once each), their logical size, and the bytes its files
// take on the store's mountpaths: every object file and mirror copy, and the EC directory.
func (s *Store) Summary(ctx context.Context, b *meta.Bucket) (api.TargetSummary, error) {
	var ts api.TargetSummary
	seen := map[string]struct{}{}
	for _, mp := range s.walkMountpaths() {
		dir := bucketDir(mp, b.Provider, b.Name)
		if mk, ok := s.readMarker(dir); ok && mk.id == b.ID {
			w := &walker{s: s, ctx: ctx, mp: mp, bucketID: b.ID, bucketKey: b.Key(), fn: func(it balancer.Item) error {
				ts.Files++
				ts.DiskBytes += it.Size
				if _, dup := seen[it.Name]; !dup {
					seen[it.Name] = struct{}{}
					ts.Objects++
					ts.LogicalBytes += it.Size
				}
				return nil
			}}
			if err := w.walk(dir, ""); err != nil {
				return ts, err
			}
		}
		n, err := s.dirBytes(ctx, fmt.Sprintf("%s/%s/@%s/%s", mp, ecDir, b.Provider, b.Name))
		if err != nil {
			return ts, err
		}
		ts.ECBytes += n
	}
	ts.DiskBytes += ts.ECBytes
	return ts, nil
}

// dirBytes sums the sizes of the regular files below dir (0 if it does not exist).
func (s *Store) dirBytes(ctx context.Context, dir string) (int64, error) {
	ents, err := s.fs.ReadDir(dir)
	if err != nil {
		if notFoundErr(err) {
			return 0, nil
		}
		return 0, err
	}
	var n int64
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if e.IsDir() {
			k, err := s.dirBytes(ctx, dir+"/"+e.Name())
			if err != nil && !errors.Is(err, context.Canceled) {
				return n, err
			}
			n += k
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n, nil
}
