package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

// prober checks the data path end to end: through every gateway, a write and a read of an
// object that each active target owns (in the probe bucket, outside the history).
type prober struct {
	c        *testbed.Cluster
	gateways []*api.Client
	n        int
}

func newProber(c *testbed.Cluster) (*prober, error) {
	p := &prober{c: c}
	for _, g := range c.Gateways {
		gc, err := api.NewClient(g.URL, nil)
		if err != nil {
			return nil, err
		}
		gc.MaxAttempts = 1
		p.gateways = append(p.gateways, gc)
	}
	return p, nil
}

func (p *prober) probe(ctx context.Context) error {
	snap, err := p.c.MetaClient.LatestSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("probe: latest snapshot: %w", err)
	}
	b, ok := snap.Bucket(meta.ProviderAIS, probeBucket)
	if !ok {
		return fmt.Errorf("probe: no bucket %s at epoch %d", probeBucket, snap.Epoch)
	}
	pl := meta.NewPlacement(snap.ActiveTargets())
	for _, t := range snap.ActiveTargets() {
		name := ""
		for i := 0; i < 1000 && name == ""; i++ {
			n := fmt.Sprintf("probe/%s/%d", t.ID, i)
			if o, err := pl.Owner(meta.ObjectKey(b.Key(), n)); err == nil && o.ID == t.ID {
				name = n
			}
		}
		for gi, gc := range p.gateways {
			p.n++
			body := []byte(fmt.Sprintf("probe %d via %s", p.n, p.c.Gateways[gi].Name))
			if _, err := gc.PutObject(ctx, probeBucket, name, bytes.NewReader(body), int64(len(body)), nil); err != nil {
				return fmt.Errorf("probe: put to %s via %s: %w", t.ID, p.c.Gateways[gi].Name, err)
			}
			rc, _, err := gc.GetObject(ctx, probeBucket, name, nil)
			if err != nil {
				return fmt.Errorf("probe: get from %s via %s: %w", t.ID, p.c.Gateways[gi].Name, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, body) {
				return fmt.Errorf("probe: read from %s via %s: %q, %v", t.ID, p.c.Gateways[gi].Name, got, err)
			}
		}
	}
	return nil
}
