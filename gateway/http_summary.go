package gateway

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// bucketSummary answers GET /v1/buckets/{bucket}/summary: every target's
// GET /v1/internal/summary/{bucket}, summed, with the bucket's mirror and EC properties.
func (g *Gateway) bucketSummary(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, b, err := g.lookupBucket(ctx, name)
	if err != nil {
		return err
	}
	sum := api.BucketSummary{Bucket: b.Name, Mirror: &b.Props.Mirror, EC: &b.Props.EC}
	var mu sync.Mutex
	sum.Unreachable = g.fanOut(ctx, listTargets(v.Snap), func(ctx context.Context, t meta.Node) error {
		var ts api.TargetSummary
		if err := g.targetCall(ctx, t, http.MethodGet, "/v1/internal/summary/"+url.PathEscape(b.Name), nil, nil, &ts); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		sum.Targets = append(sum.Targets, ts)
		sum.Objects += ts.Objects
		sum.LogicalBytes += ts.LogicalBytes
		sum.DiskBytes += ts.DiskBytes
		sum.Files += ts.Files
		sum.ECBytes += ts.ECBytes
		return nil
	})
	sort.Slice(sum.Targets, func(i, j int) bool { return sum.Targets[i].Node < sum.Targets[j].Node })
	setEpoch(c, v.Snap.Epoch)
	return c.JSON(http.StatusOK, sum)
}
