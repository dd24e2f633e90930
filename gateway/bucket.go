package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// lookupBucket finds an ais:// bucket in the current epoch. When the epoch does not have it,
// the gateway asks meta for the newest committed snapshot (linearizable) and looks again, so a
// bucket created through another gateway is found at once.
func (g *Gateway) lookupBucket(ctx context.Context, name string) (*api.View, meta.Bucket, error) {
	v, err := g.view(ctx)
	if err != nil {
		return nil, meta.Bucket{}, err
	}
	if b, ok := v.Snap.Bucket(meta.ProviderAIS, name); ok {
		return v, b, nil
	}
	s, err := g.mc.LatestSnapshot(ctx)
	if err != nil {
		return nil, meta.Bucket{}, fmt.Errorf("gateway: confirm that bucket %q does not exist: %w", name, err)
	}
	g.follower.Store(s)
	if cur := g.follower.Current(); cur != nil && cur.Snap.Epoch >= s.Epoch {
		v = cur
	} else {
		v = api.NewView(s)
	}
	if b, ok := v.Snap.Bucket(meta.ProviderAIS, name); ok {
		return v, b, nil
	}
	return nil, meta.Bucket{}, fmt.Errorf("%w: %q", meta.ErrBucketNotFound, meta.BucketKey(meta.ProviderAIS, name))
}

// bucketName reads and validates the {bucket} path parameter.
func bucketName(c echo.Context) (string, error) {
	raw := c.Param("bucket")
	name, err := url.PathUnescape(raw)
	if err != nil {
		name = raw
	}
	if err := meta.ValidateBucketName(name); err != nil {
		return "", err
	}
	return name, nil
}

// readDoc reads a small JSON document body (bucket props), at most limit bytes.
func readDoc(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	doc, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %v", meta.ErrIncompleteBody, err)
	}
	if int64(len(doc)) > limit {
		return nil, fmt.Errorf("%w: a bucket properties document is limited to %d bytes", api.ErrEntityTooLarge, limit)
	}
	return doc, nil
}

func (g *Gateway) createBucket(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	doc, err := readDoc(c.Request(), g.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	b, epoch, err := g.mc.CreateBucket(ctx, name, doc)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	setEpoch(c, epoch)
	return c.JSON(http.StatusOK, b)
}

func (g *Gateway) listBuckets(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := g.mc.LatestSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("gateway: list buckets: %w", err)
	}
	g.follower.Store(s)
	out := api.BucketList{Buckets: s.SortedBuckets()}
	setEpoch(c, s.Epoch)
	return c.JSON(http.StatusOK, out)
}

func (g *Gateway) headBucket(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	v, _, err := g.lookupBucket(c.Request().Context(), name)
	if err != nil {
		return err
	}
	setEpoch(c, v.Snap.Epoch)
	return c.NoContent(http.StatusOK)
}

func (g *Gateway) bucketProps(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	v, b, err := g.lookupBucket(c.Request().Context(), name)
	if err != nil {
		return err
	}
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, b)
}

func (g *Gateway) patchBucketProps(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	doc, err := readDoc(c.Request(), g.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	b, epoch, err := g.mc.PatchBucketProps(ctx, name, doc)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	setEpoch(c, epoch)
	return c.JSON(http.StatusOK, b)
}

// destroyBucket removes the bucket from meta; every target removes its objects when it sees the
// epoch without the bucket.
func (g *Gateway) destroyBucket(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	epoch, err := g.mc.DestroyBucket(ctx, name)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	setEpoch(c, epoch)
	return c.NoContent(http.StatusOK)
}
