package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

func newClient(t *testing.T, c *cluster.Cluster, gw int) *api.Client {
	t.Helper()
	cl, err := api.NewClient(c.GatewayURLs[gw], nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func putAll(ctx context.Context, t *testing.T, cl *api.Client, bucket string, objs []body) map[string]*api.ObjectAttrs {
	t.Helper()
	var mu sync.Mutex
	attrs := make(map[string]*api.ObjectAttrs, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, o := range objs {
		g.Go(func() error {
			a, err := cl.PutObject(gctx, bucket, o.name, o.reader(), o.size, nil)
			if err != nil {
				return fmt.Errorf("put %s (%d bytes): %w", o.name, o.size, err)
			}
			mu.Lock()
			attrs[o.name] = a
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return attrs
}

func getAndCompare(ctx context.Context, cl *api.Client, bucket string, o body) (*api.ObjectAttrs, error) {
	rc, a, err := cl.GetObject(ctx, bucket, o.name, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", o.name, err)
	}
	defer rc.Close()
	if err := o.compare(rc); err != nil {
		return nil, err
	}
	return a, nil
}

// TestDataPath is the end-to-end test of the data path on the cluster of `make run`: 3 meta,
// 3 targets with 2 mountpaths each, gateways; 1,000 objects from 0 bytes to 8 MiB.
func TestDataPath(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl := newClient(t, c, 0)
	const bucket = "data-path"
	if err := cl.CreateBucket(ctx, bucket, nil); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	objs := make([]body, 1000)
	var total int64
	for i := range objs {
		size := logUniformSize(rng, 8<<20)
		switch i {
		case 0:
			size = 0
		case 1:
			size = 8 << 20
		}
		objs[i] = body{name: fmt.Sprintf("dir-%d/obj-%04d.bin", i%7, i), size: size, seed: uint64(i)}
		total += size
	}
	start := time.Now()
	attrs := putAll(ctx, t, cl, bucket, objs)
	t.Logf("PUT 1000 objects, %.1f MiB, in %v", float64(total)/(1<<20), time.Since(start).Round(time.Millisecond))

	// Every GET returns identical bytes and the checksum the PUT reported.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, o := range objs {
		g.Go(func() error {
			a, err := getAndCompare(gctx, cl, bucket, o)
			if err != nil {
				return err
			}
			if a.ChecksumType != meta.ChecksumHighway || a.ChecksumValue == "" || a.ChecksumValue != attrs[o.name].ChecksumValue {
				return fmt.Errorf("%s: GET checksum %s:%s, PUT said %s", o.name, a.ChecksumType, a.ChecksumValue, attrs[o.name].ChecksumValue)
			}
			if a.Size != o.size {
				return fmt.Errorf("%s: size %d, want %d", o.name, a.Size, o.size)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	// 100 random range reads.
	for i := 0; i < 100; i++ {
		o := objs[2+rng.IntN(len(objs)-2)]
		if o.size == 0 {
			continue
		}
		off := rng.Int64N(o.size)
		length := 1 + rng.Int64N(o.size-off)
		rc, _, err := cl.GetObject(ctx, bucket, o.name, &api.GetOptions{Offset: off, Length: length})
		if err != nil {
			t.Fatalf("range %s [%d,+%d): %v", o.name, off, length, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := o.bytes()[off : off+length]; !bytes.Equal(got, want) {
			t.Fatalf("range %s [%d,+%d): %d bytes differ from the source", o.name, off, length, len(got))
		}
	}

	// Listing in pages of 100 returns exactly the 1,000 names, in order, once each.
	names := listAll(ctx, t, cl, bucket, 100)
	if len(names) != len(objs) {
		t.Fatalf("listed %d names, want %d", len(names), len(objs))
	}
	want := make([]string, len(objs))
	for i, o := range objs {
		want[i] = o.name
	}
	sort.Strings(want)
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("listing[%d] = %q, want %q", i, names[i], want[i])
		}
	}

	// Every object sits at its HRW target's HRW mountpath as a plain file.
	checkOnDisk(ctx, t, c, bucket, objs[200:])

	// 200 deletes leave 800.
	for _, o := range objs[:200] {
		if err := cl.DeleteObject(ctx, bucket, o.name); err != nil {
			t.Fatalf("delete %s: %v", o.name, err)
		}
	}
	if n := len(listAll(ctx, t, cl, bucket, 100)); n != 800 {
		t.Fatalf("after 200 deletes the listing has %d names, want 800", n)
	}
	for _, o := range objs[:5] {
		if _, _, err := cl.GetObject(ctx, bucket, o.name, nil); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Fatalf("GET of deleted %s: %v, want ErrObjectNotFound", o.name, err)
		}
	}
}

func listAll(ctx context.Context, t *testing.T, cl *api.Client, bucket string, page int) []string {
	t.Helper()
	var names []string
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		l, err := cl.ListObjects(ctx, bucket, api.ListOptions{Limit: page, Token: token})
		if err != nil {
			t.Fatalf("list page %d: %v", pages, err)
		}
		if len(l.Entries) > page {
			t.Fatalf("page of %d entries, limit %d", len(l.Entries), page)
		}
		for _, e := range l.Entries {
			if seen[e.Name] {
				t.Fatalf("listing returned %q twice", e.Name)
			}
			seen[e.Name] = true
			names = append(names, e.Name)
		}
		if l.NextToken == "" {
			return names
		}
		token = l.NextToken
	}
}

// checkOnDisk compares each object's file at <HRW mountpath of HRW target>/@ais/<bucket>/<name>
// with its source.
func checkOnDisk(ctx context.Context, t *testing.T, c *cluster.Cluster, bucket string, objs []body) {
	t.Helper()
	snap, err := c.MetaClient.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		t.Fatalf("bucket %s not in snapshot", bucket)
	}
	p := meta.NewPlacement(snap.ActiveTargets())
	for _, o := range objs {
		key := meta.ObjectKey(b.Key(), o.name)
		owner, err := p.Owner(key)
		if err != nil {
			t.Fatal(err)
		}
		mp := meta.Mountpath(key, owner.Mountpaths)
		path := filepath.Join(mp, "@ais", bucket, filepath.FromSlash(o.name))
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%s: not at its HRW place: %v", o.name, err)
		}
		err = o.compare(f)
		f.Close()
		if err != nil {
			t.Fatalf("file %s: %v", path, err)
		}
	}
}
