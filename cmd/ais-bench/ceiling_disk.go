package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// diskBackend is the disk ceiling: a PUT writes the object into a file of DIR sequentially
// (fsynced if asked), a GET reads a file. The load generator drives it like a cluster, with the
// same workers, sizes and names, but with no network and no server in between.
type diskBackend struct {
	dir   string
	fsync bool
}

func (d *diskBackend) put(_ context.Context, name string, body *patReader) error {
	f, err := os.OpenFile(filepath.Join(d.dir, flatName(name)), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	// Write straight from the pattern: the disk ceiling copies nothing in user space.
	for body.pos < body.size && err == nil {
		i := int((int64(body.start) + body.pos) % patternLen)
		n := min(body.size-body.pos, int64(patternLen-i), 1<<20)
		_, err = f.Write(body.p.buf[i : i+int(n)])
		body.pos += n
	}
	if err == nil && d.fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *diskBackend) get(_ context.Context, name string, off, length int64, buf []byte, sink func([]byte) error) (int64, error) {
	f, err := os.Open(filepath.Join(d.dir, flatName(name)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if off > 0 || length > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return 0, err
		}
		if length > 0 {
			r = io.LimitReader(f, length)
		}
	}
	return readAll(r, buf, sink)
}

func (d *diskBackend) list(context.Context, string) ([]object, error) {
	return nil, errors.New("the disk ceiling does not list; pass --objects")
}

// flatName maps an object name to a file name in one directory ('/' becomes '_'), so that the
// ceilings spend nothing on directories.
func flatName(name string) string { return strings.ReplaceAll(name, "/", "_") }
