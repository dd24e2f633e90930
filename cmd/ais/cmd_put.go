package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// PutCmd is "ais put".
type PutCmd struct {
	Src       string `arg:"" name:"SRC" predictor:"path" help:"A file; - for stdin; a directory with --recursive."`
	Dst       string `arg:"" name:"DST" predictor:"object" help:"ais://BUCKET/OBJECT; ais://BUCKET/PREFIX/ (ending in /) keeps the file's name; for a directory, the prefix of all names."`
	Recursive bool   `short:"r" help:"Upload a directory tree: every file under SRC, named PREFIX/RELATIVE/PATH."`
	Workers   int    `short:"w" default:"${workers}" placeholder:"N" help:"Parallel uploads for --recursive (default ${default})."`
}

// Run uploads.
func (c *PutCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	dst, err := parseURI(c.Dst, false)
	if err != nil {
		return err
	}
	b, err := cl.BucketProps(ctx, dst.Bucket)
	if err != nil {
		return bucketErr(dst, err)
	}
	typ := b.Props.Checksum.Type
	if c.Src == "-" {
		return c.putStdin(ctx, cl, con, dst, typ)
	}
	fi, err := os.Stat(c.Src)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", c.Src, pathErr(err))
	}
	if fi.IsDir() {
		if !c.Recursive {
			return fmt.Errorf("%s is a directory; add --recursive to upload everything under it", c.Src)
		}
		return c.putTree(ctx, cl, con, dst, typ)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; for a stream use: ais put - %s < %s", c.Src, c.Dst, c.Src)
	}
	name := dst.Object
	if name == "" || strings.HasSuffix(name, "/") {
		name += filepath.Base(c.Src)
	}
	obj := uri{Provider: dst.Provider, Bucket: dst.Bucket, Object: name}
	if err := meta.ValidateObjectName(name); err != nil {
		return err
	}
	p := con.progress("put "+obj.String(), fi.Size(), 0)
	defer p.finish()
	if err := putFile(ctx, cl, obj, c.Src, typ, p); err != nil {
		return err
	}
	p.finish()
	fmt.Fprintf(con.Out, "put %s (%s)\n", obj, humanSize(fi.Size()))
	return nil
}

func (c *PutCmd) putStdin(ctx context.Context, cl *api.Client, con *console, dst uri, typ string) error {
	if dst.Object == "" || strings.HasSuffix(dst.Object, "/") {
		return fmt.Errorf("stdin has no file name; name the object: ais put - ais://%s/NAME", dst.Bucket)
	}
	if err := meta.ValidateObjectName(dst.Object); err != nil {
		return err
	}
	size := int64(-1)
	if f, ok := con.In.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
				size = fi.Size() - pos
			}
		}
	}
	p := con.progress("put "+dst.String(), size, 0)
	defer p.finish()
	sr, err := newSendReader(con.In, typ, p)
	if err != nil {
		return err
	}
	a, err := cl.PutObject(ctx, dst.Bucket, dst.Object, sr.body(), size, nil)
	if err != nil {
		return objectErr(dst, err)
	}
	if err := checkPut(dst, sr, a); err != nil {
		return err
	}
	p.finish()
	fmt.Fprintf(con.Out, "put %s (%s)\n", dst, humanSize(sr.n))
	return nil
}

// putFile uploads one local file as obj, checking the stored checksum.
func putFile(ctx context.Context, cl *api.Client, obj uri, path, typ string, p *progress) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, pathErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	sr, err := newSendReader(f, typ, p)
	if err != nil {
		return err
	}
	a, err := cl.PutObject(ctx, obj.Bucket, obj.Object, sr.body(), fi.Size(), nil)
	if err != nil {
		return objectErr(obj, err)
	}
	return checkPut(obj, sr, a)
}

// localFile is one file of a tree upload.
type localFile struct {
	path string
	name string // object name
	size int64
}

func (c *PutCmd) putTree(ctx context.Context, cl *api.Client, con *console, dst uri, typ string) error {
	prefix := dst.Object
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	files, total, err := walkTree(c.Src, prefix, con)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no files under %s", c.Src)
	}
	workers := max(1, c.Workers)
	start := time.Now()
	p := con.progress("put", total, len(files))
	defer p.finish()
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, f := range files {
		g.Go(func() error {
			obj := uri{Provider: dst.Provider, Bucket: dst.Bucket, Object: f.name}
			if err := putFile(gctx, cl, obj, f.path, typ, p); err != nil {
				return err
			}
			done.Add(1)
			p.fileDone()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if n := done.Load(); n > 0 {
			fmt.Fprintf(con.Err, "ais: %d of %d files were uploaded before the failure\n", n, len(files))
		}
		return err
	}
	p.finish()
	el := time.Since(start)
	fmt.Fprintf(con.Out, "put %d files (%s) to %s/%s in %s (%s)\n", len(files), humanSize(total),
		dst.BucketString(), prefix, el.Round(time.Millisecond), humanRate(float64(total)/max(el.Seconds(), 1e-9)))
	return nil
}

// walkTree lists the regular files under root (following symlinks to files, not to
// directories) with their object names, prefix + the slash-separated relative path.
func walkTree(root, prefix string, con *console) ([]localFile, int64, error) {
	var files []localFile
	var total int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot read %s: %v", path, pathErr(err))
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(path) // follows a symlink
		if err != nil {
			return fmt.Errorf("cannot read %s: %v", path, pathErr(err))
		}
		if !fi.Mode().IsRegular() {
			fmt.Fprintf(con.Err, "ais: skipping %s: not a regular file\n", path)
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := prefix + filepath.ToSlash(rel)
		if err := meta.ValidateObjectName(name); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		files = append(files, localFile{path: path, name: name, size: fi.Size()})
		total += fi.Size()
		return nil
	})
	return files, total, err
}

// pathErr drops the operation and path from an *fs.PathError (the message names the path).
func pathErr(err error) error {
	var pe *fs.PathError
	if e, ok := err.(*fs.PathError); ok {
		pe = e
		return pe.Err
	}
	return err
}

// defaultWorkers is the default parallelism of tree transfers.
func defaultWorkers() int { return min(32, max(8, 4*runtime.NumCPU())) }
