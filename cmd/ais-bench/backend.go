package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aisfoundry/ais/api"
)

// backend is what the load generator drives: the native API (redirect or through the
// gateway), S3, or the plain HTTP server of the ceiling.
type backend interface {
	// put stores body (its size is body.size) under name.
	put(ctx context.Context, name string, body *patReader) error
	// get reads length bytes of name from off (length 0: to the end) into buf, chunk by
	// chunk, handing each chunk to sink; it returns how many bytes came.
	get(ctx context.Context, name string, off, length int64, buf []byte, sink func([]byte) error) (int64, error)
	// list returns the names and sizes of the objects under prefix.
	list(ctx context.Context, prefix string) ([]object, error)
}

type object struct {
	name string
	size int64
}

// readAll reads body into buf, chunk by chunk, handing each to sink.
func readAll(body io.Reader, buf []byte, sink func([]byte) error) (int64, error) {
	var n int64
	for {
		k, err := body.Read(buf)
		if k > 0 {
			n += int64(k)
			if sink != nil {
				if serr := sink(buf[:k]); serr != nil {
					return n, serr
				}
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// nativeBackend drives a gateway's native API with the Go client.
type nativeBackend struct {
	c      *api.Client
	bucket string
}

func newNativeBackend(endpoint, bucket string, proxy bool, hc *http.Client) (*nativeBackend, error) {
	c, err := api.NewClient(endpoint, hc)
	if err != nil {
		return nil, err
	}
	c.Proxy = proxy
	return &nativeBackend{c: c, bucket: bucket}, nil
}

func (b *nativeBackend) put(ctx context.Context, name string, body *patReader) error {
	_, err := b.c.PutObject(ctx, b.bucket, name, body, body.size, nil)
	return err
}

func (b *nativeBackend) get(ctx context.Context, name string, off, length int64, buf []byte, sink func([]byte) error) (int64, error) {
	var opts *api.GetOptions
	if off > 0 || length > 0 {
		opts = &api.GetOptions{Offset: off, Length: length}
	}
	rc, _, err := b.c.GetObject(ctx, b.bucket, name, opts)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return readAll(rc, buf, sink)
}

func (b *nativeBackend) list(ctx context.Context, prefix string) ([]object, error) {
	ents, err := b.c.ListAllObjects(ctx, b.bucket, api.ListOptions{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	out := make([]object, len(ents))
	for i, e := range ents {
		out[i] = object{name: e.Name, size: e.Size}
	}
	return out, nil
}

// rawBackend drives the ceiling's plain HTTP server: PUT and GET of base + "/o/" + name.
type rawBackend struct {
	hc    *http.Client
	base  string
	query string // "?fsync=true" or ""
}

func newRawBackend(base string, fsync bool, hc *http.Client) *rawBackend {
	b := &rawBackend{hc: hc, base: strings.TrimRight(base, "/") + "/o/"}
	if fsync {
		b.query = "?fsync=true"
	}
	return b
}

func (b *rawBackend) put(ctx context.Context, name string, body *patReader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.base+url.PathEscape(name)+b.query, body)
	if err != nil {
		return err
	}
	req.ContentLength = body.size
	if body.size == 0 {
		req.Body = http.NoBody
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &httpStatusError{status: resp.StatusCode}
	}
	return nil
}

func (b *rawBackend) get(ctx context.Context, name string, off, length int64, buf []byte, sink func([]byte) error) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+url.PathEscape(name), nil)
	if err != nil {
		return 0, err
	}
	if off > 0 || length > 0 {
		rng := "bytes=" + strconv.FormatInt(off, 10) + "-"
		if length > 0 {
			rng += strconv.FormatInt(off+length-1, 10)
		}
		req.Header.Set("Range", rng)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, &httpStatusError{status: resp.StatusCode}
	}
	return readAll(resp.Body, buf, sink)
}

func (b *rawBackend) list(context.Context, string) ([]object, error) {
	return nil, fmt.Errorf("the ceiling server does not list; pass --objects")
}
