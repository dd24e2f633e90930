package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// loadFlags are the flags of put, get and mixed.
type loadFlags struct {
	Endpoint string `short:"e" env:"AIS_ENDPOINT" default:"http://127.0.0.1:8080" placeholder:"URL" help:"Gateway of the cluster (native API; also S3 unless --s3-endpoint)."`
	Bucket   string `short:"b" placeholder:"NAME" help:"Bucket to use; put and mixed create it (default properties) if it does not exist. Required unless --url or --disk."`
	Proxy    bool   `help:"Native API through the gateway (?proxy=true) instead of redirects to targets."`
	NoCache  bool   `name:"no-redirect-cache" help:"Native API: ask the gateway for every request, instead of reusing the redirects the Go client caches (what a first read of each object costs)."`

	S3          bool   `name:"s3" help:"Use the gateway's S3 API (aws-sdk-go-v2, path-style, SigV4) instead of the native API."`
	S3Endpoint  string `name:"s3-endpoint" placeholder:"URL" help:"S3 endpoint (default: --endpoint)."`
	AccessKey   string `name:"access-key" env:"AWS_ACCESS_KEY_ID" help:"S3 access key ID."`
	SecretKey   string `name:"secret-key" env:"AWS_SECRET_ACCESS_KEY" help:"S3 secret access key."`
	Region      string `default:"us-east-1" env:"AWS_REGION" help:"S3 region to sign for."`
	SignPayload bool   `name:"sign-payload" help:"S3: hash every PUT body into the signature (default: UNSIGNED-PAYLOAD, no client-side hashing)."`

	URL   string `placeholder:"URL" help:"Drive the HTTP ceiling ('ais-bench serve') at this URL instead of a cluster."`
	Disk  string `placeholder:"DIR" help:"Drive the disk ceiling: write and read files in DIR directly, no HTTP."`
	Fsync bool   `help:"With --url or --disk: fsync every object written (the cluster fsyncs per bucket property write.fsync)."`

	Size     byteSize      `short:"s" default:"1MiB" help:"Object size (4KiB, 1MiB, 16MiB, ...)."`
	MinSize  byteSize      `name:"min-size" placeholder:"SIZE" help:"Smallest object size; with --max-size, sizes vary per name between the two."`
	MaxSize  byteSize      `name:"max-size" placeholder:"SIZE" help:"Largest object size."`
	Workers  int           `short:"w" default:"8" help:"Concurrent requests."`
	Duration time.Duration `short:"d" help:"How long to run (default 30s unless --count is given)."`
	Count    int64         `short:"n" placeholder:"N" help:"Stop after this many operations."`
	Objects  int           `placeholder:"N" help:"Distinct names: put cycles over PREFIX00000000..N-1 (default: a new name per PUT); get and mixed read them (get's default: list the bucket)."`
	Prefix   string        `default:"bench/" help:"Name prefix of the objects."`
	Range    byteSize      `placeholder:"SIZE" help:"GET a random range of this many bytes of each object instead of all of it."`
	Verify   bool          `help:"Check every byte read against what put wrote (objects written by ais-bench with the same names and sizes)."`
	JSON     bool          `help:"Print each interval and the summary as JSON lines."`
	Interval time.Duration `default:"1s" help:"Print figures every interval (0: only at the end)."`
}

// PutCmd writes objects.
type PutCmd struct{ loadFlags }

// GetCmd reads objects.
type GetCmd struct{ loadFlags }

// MixedCmd reads and writes.
type MixedCmd struct {
	loadFlags
	PutPct int `name:"put-pct" default:"20" help:"Percent of the operations that are PUTs."`
}

func (c *PutCmd) Run(ctx context.Context) error { return c.run(ctx, opPut, 0, os.Stdout) }
func (c *GetCmd) Run(ctx context.Context) error { return c.run(ctx, opGet, 0, os.Stdout) }
func (c *MixedCmd) Run(ctx context.Context) error {
	return c.run(ctx, opMixed, c.PutPct, os.Stdout)
}

func (f *loadFlags) spec(op string, putPct int) loadSpec {
	s := loadSpec{Op: op, PutPct: putPct, Workers: f.Workers, Duration: f.Duration, Count: f.Count,
		NumObjects: f.Objects, Prefix: f.Prefix, MinSize: int64(f.Size), MaxSize: int64(f.Size),
		Range: int64(f.Range), Verify: f.Verify, Interval: f.Interval}
	if f.MinSize > 0 || f.MaxSize > 0 {
		s.MinSize, s.MaxSize = int64(f.MinSize), int64(max(f.MaxSize, f.MinSize))
	}
	if s.Duration <= 0 && s.Count <= 0 {
		s.Duration = 30 * time.Second
	}
	return s
}

// backend builds the backend the flags name and a short description of it.
func (f *loadFlags) backend(ctx context.Context, create bool) (backend, string, error) {
	hc := benchHTTPClient(f.Workers)
	switch {
	case f.Disk != "":
		if err := os.MkdirAll(f.Disk, 0o755); err != nil {
			return nil, "", err
		}
		return &diskBackend{dir: f.Disk, fsync: f.Fsync}, "disk " + f.Disk + fsyncNote(f.Fsync), nil
	case f.URL != "":
		return newRawBackend(f.URL, f.Fsync, hc), "http-ceiling " + f.URL + fsyncNote(f.Fsync), nil
	case f.Bucket == "":
		return nil, "", errors.New("--bucket is required (or --url / --disk for the ceilings)")
	case meta.ValidateBucketName(f.Bucket) != nil:
		return nil, "", fmt.Errorf("--bucket: %w", meta.ValidateBucketName(f.Bucket))
	case f.S3:
		ep := f.S3Endpoint
		if ep == "" {
			ep = f.Endpoint
		}
		be := newS3Backend(s3Config{Endpoint: ep, Region: f.Region, AccessKey: f.AccessKey, SecretKey: f.SecretKey,
			SignPayload: f.SignPayload}, f.Bucket, hc)
		if create {
			if err := be.createBucket(ctx); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") &&
				!strings.Contains(err.Error(), "BucketAlreadyExists") {
				return nil, "", fmt.Errorf("create bucket %s over S3: %w", f.Bucket, err)
			}
		}
		return be, "s3 " + ep + " bucket " + f.Bucket, nil
	}
	be, err := newNativeBackend(f.Endpoint, f.Bucket, f.Proxy, hc)
	if err != nil {
		return nil, "", err
	}
	if f.NoCache {
		be.c.RedirectCacheSize = -1
	}
	if create {
		if err := ensureBucket(ctx, be.c, f.Bucket, nil); err != nil {
			return nil, "", err
		}
	}
	mode := "redirect"
	if f.NoCache {
		mode += ", no redirect cache"
	}
	if f.Proxy {
		mode = "through the gateway"
	}
	return be, "native " + f.Endpoint + " bucket " + f.Bucket + " (" + mode + ")", nil
}

func fsyncNote(on bool) string {
	if on {
		return " (fsync)"
	}
	return ""
}

// ensureBucket creates bucket (with props, a JSON merge document, or defaults) unless it exists.
func ensureBucket(ctx context.Context, c *api.Client, bucket string, props []byte) error {
	err := c.HeadBucket(ctx, bucket)
	if err == nil {
		return nil
	}
	if !errors.Is(err, meta.ErrBucketNotFound) {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	if err := c.CreateBucket(ctx, bucket, props); err != nil && !errors.Is(err, meta.ErrBucketExists) {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// benchHTTPClient is the HTTP client of every backend: the cluster's own client settings
// (keep-alive, large buffers), with enough idle connections for every worker.
func benchHTTPClient(workers int) *http.Client {
	hc := api.NewHTTPClient()
	tr := hc.Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, 2*workers)
	tr.MaxIdleConns = max(tr.MaxIdleConns, 4*workers)
	return hc
}

func (f *loadFlags) run(ctx context.Context, op string, putPct int, out io.Writer) error {
	spec := f.spec(op, putPct)
	be, desc, err := f.backend(ctx, op != opGet)
	if err != nil {
		return err
	}
	if nb, ok := be.(*nativeBackend); ok && op == opGet {
		if err := nb.c.HeadBucket(ctx, f.Bucket); err != nil {
			return fmt.Errorf("bucket %s: %w", f.Bucket, err)
		}
	}
	if op == opGet && spec.NumObjects == 0 {
		objs, err := be.list(ctx, spec.Prefix)
		if err != nil {
			return fmt.Errorf("list %q to find objects to read (or pass --objects): %w", spec.Prefix, err)
		}
		if len(objs) == 0 {
			return fmt.Errorf("no objects under %q to read; run 'ais-bench put' first", spec.Prefix)
		}
		spec.Objects = objs
	}
	pat := newPattern()
	enc := json.NewEncoder(out)
	if !f.JSON {
		fmt.Fprintf(out, "%s: %s, %d workers, %s, %s\n", op, desc, spec.Workers, sizeDesc(spec), limitDesc(spec))
	}
	sum, err := runLoad(ctx, spec, be, pat, func(iv Interval) {
		if f.JSON {
			_ = enc.Encode(map[string]any{"interval": iv})
			return
		}
		for _, r := range iv.Results {
			fmt.Fprintf(out, "%6.1fs  %s\n", iv.Elapsed, r.line())
		}
	})
	if sum == nil {
		return err
	}
	sum.Backend = desc
	if f.JSON {
		_ = enc.Encode(map[string]any{"summary": sum})
	} else {
		fmt.Fprintf(out, "total %.1fs:\n", sum.Seconds)
		for _, r := range sum.Results {
			fmt.Fprintf(out, "        %s\n", r.line())
		}
		if op != opGet && spec.NumObjects == 0 {
			fmt.Fprintf(out, "wrote names %s00000000 to %s (read them back with --objects %d)\n",
				spec.Prefix, nameOf(spec.Prefix, max(sum.NamesUsed-1, 0))[len(spec.Prefix):], sum.NamesUsed)
		}
	}
	if err != nil {
		return err
	}
	for _, r := range sum.Results {
		if r.Errors > 0 && r.Ops == 0 {
			return fmt.Errorf("every %s failed", r.Op)
		}
	}
	return nil
}

func sizeDesc(s loadSpec) string {
	if s.MinSize == s.MaxSize {
		return "size " + formatSize(s.MinSize)
	}
	return "sizes " + formatSize(s.MinSize) + " to " + formatSize(s.MaxSize)
}

func limitDesc(s loadSpec) string {
	var parts []string
	if s.Duration > 0 {
		parts = append(parts, "for "+s.Duration.String())
	}
	if s.Count > 0 {
		parts = append(parts, fmt.Sprintf("at most %d ops", s.Count))
	}
	if s.Range > 0 {
		parts = append(parts, "ranges of "+formatSize(s.Range))
	}
	if s.Verify {
		parts = append(parts, "verifying content")
	}
	return strings.Join(parts, ", ")
}
