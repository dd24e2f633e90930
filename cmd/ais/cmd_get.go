package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
)

// GetCmd is "ais get".
type GetCmd struct {
	Src      string   `arg:"" name:"SRC" predictor:"object" help:"ais://BUCKET/OBJECT; or a bucket (with --prefix, or as ais://BUCKET/PREFIX/) for many objects."`
	Dst      string   `arg:"" optional:"" name:"DST" predictor:"path" help:"A file, a directory (existing or ending in /), or - for stdout. Default: the object's base name here. Many objects go to DST/NAME."`
	Prefix   string   `placeholder:"PREFIX" help:"Get every object whose name starts with PREFIX (SRC is a bucket)."`
	Offset   byteSize `placeholder:"BYTES" help:"Read from this byte on (e.g. 1048576 or 1MiB)."`
	Length   byteSize `placeholder:"BYTES" help:"Read this many bytes (default: to the end)."`
	Validate bool     `help:"Ask the target to verify the stored checksum while it reads."`
	Workers  int      `short:"w" default:"${workers}" placeholder:"N" help:"Parallel downloads for many objects (default ${default})."`
}

// Run downloads.
func (c *GetCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	src, err := parseURI(c.Src, false)
	if err != nil {
		return err
	}
	if src.Object == "" || strings.HasSuffix(src.Object, "/") || c.Prefix != "" {
		if src.Object != "" && c.Prefix != "" {
			return fmt.Errorf("give the prefix once: either %s or --prefix %s", c.Src, c.Prefix)
		}
		prefix := src.Object + c.Prefix
		return c.getMany(ctx, cl, con, src, prefix)
	}
	if src, err = parseObject(c.Src); err != nil {
		return err
	}
	if c.Offset < 0 || c.Length < 0 {
		return fmt.Errorf("--offset and --length must not be negative")
	}
	opts := &api.GetOptions{Offset: int64(c.Offset), Length: int64(c.Length), Validate: c.Validate}
	whole := c.Offset == 0 && c.Length == 0
	if c.Dst == "-" {
		return getTo(ctx, cl, con.forStdout(), src, opts, whole, con.Out)
	}
	dst := c.Dst
	base := path.Base(src.Object)
	switch {
	case dst == "":
		dst = base
	case strings.HasSuffix(dst, "/") || strings.HasSuffix(dst, string(filepath.Separator)):
		dst = filepath.Join(dst, base)
	default:
		if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
			dst = filepath.Join(dst, base)
		}
	}
	var n int64
	err = writeFile(dst, func(w io.Writer) error {
		var err error
		n, err = getOne(ctx, cl, con, src, opts, whole, w)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(con.Out, "got %s -> %s (%s)\n", src, dst, humanSize(n))
	return nil
}

// getTo writes one object to w (stdout).
func getTo(ctx context.Context, cl *api.Client, con *console, src uri, opts *api.GetOptions, whole bool, w io.Writer) error {
	_, err := getOne(ctx, cl, con, src, opts, whole, w)
	return err
}

// getOne reads one object into w, drawing its own progress line.
func getOne(ctx context.Context, cl *api.Client, con *console, src uri, opts *api.GetOptions, whole bool, w io.Writer) (int64, error) {
	rc, a, err := cl.GetObject(ctx, src.Bucket, src.Object, opts)
	if err != nil {
		return 0, objectErr(src, err)
	}
	defer rc.Close()
	total := a.Size
	if !whole {
		total = -1
	}
	p := con.progress("get "+src.String(), total, 0)
	defer p.finish()
	return receive(src, w, rc, a, whole, p)
}

func (c *GetCmd) getMany(ctx context.Context, cl *api.Client, con *console, src uri, prefix string) error {
	if c.Dst == "" || c.Dst == "-" {
		return fmt.Errorf("many objects need a directory: ais get %s --prefix %q DIR/", src.BucketString(), prefix)
	}
	if c.Offset != 0 || c.Length != 0 {
		return fmt.Errorf("--offset and --length read a range of one object; name it: ais get ais://%s/OBJECT", src.Bucket)
	}
	if fi, err := os.Stat(c.Dst); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s is a file; many objects need a directory", c.Dst)
	}
	entries, err := listObjects(ctx, cl, src, prefix, 0)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf(`no objects in %s with prefix %q; list them with "ais ls %s"`, src.BucketString(), prefix, src.BucketString())
	}
	var total int64
	for _, e := range entries {
		rel := filepath.FromSlash(e.Name)
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("object name %q cannot be a path under %s", e.Name, c.Dst)
		}
		total += e.Size
	}
	start := time.Now()
	p := con.progress("get", total, len(entries))
	defer p.finish()
	var got atomic.Int64
	var bytes atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, c.Workers))
	opts := &api.GetOptions{Validate: c.Validate}
	for _, e := range entries {
		g.Go(func() error {
			obj := uri{Provider: src.Provider, Bucket: src.Bucket, Object: e.Name}
			dst := filepath.Join(c.Dst, filepath.FromSlash(e.Name))
			err := writeFile(dst, func(w io.Writer) error {
				rc, a, err := cl.GetObject(gctx, obj.Bucket, obj.Object, opts)
				if err != nil {
					return objectErr(obj, err)
				}
				defer rc.Close()
				n, err := receive(obj, w, rc, a, true, p)
				bytes.Add(n)
				return err
			})
			if err != nil {
				return err
			}
			got.Add(1)
			p.fileDone()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if n := got.Load(); n > 0 {
			fmt.Fprintf(con.Err, "ais: %d of %d objects were downloaded before the failure\n", n, len(entries))
		}
		return err
	}
	p.finish()
	el := time.Since(start)
	fmt.Fprintf(con.Out, "got %d objects (%s) from %s/%s into %s in %s (%s)\n", len(entries), humanSize(bytes.Load()),
		src.BucketString(), prefix, c.Dst, el.Round(time.Millisecond), humanRate(float64(bytes.Load())/max(el.Seconds(), 1e-9)))
	return nil
}
