package target

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// Target-to-target EC endpoint on the data listener (docs/protection.md):
//
//	PUT    /v1/internal/ec/{bucket}/{object...}  store a slice or replica; its record in
//	       Ais-Slice-Meta, as a header or (when the object's checksum is known only at the end
//	       of a streaming PUT) as a trailer; writes of a job carry Ais-Lease and Ais-Fence-Token
//	       and are refused (409 StaleToken) with a token older than one already seen.
//	PUT    ...?stub=1                            the owner stores the record of an object kept
//	       only as slices (ec.full_copy off), rebuilt by ec-repair
//	GET    /v1/internal/ec/{bucket}/{object...}  this target's slice or replica, record in the header
//	HEAD   the same, without the bytes
//	DELETE the same: remove it
const (
	ecPrefix        = "/v1/internal/ec/"
	headerSliceMeta = "Ais-Slice-Meta" // base64url(codec.EncodeSliceMeta)
)

func (s *Server) ecRoutes() {
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		s.data.Add(m, ecPrefix+":bucket/*", s.serveSlice)
	}
	s.data.PUT(ecPrefix+":bucket/*", s.receiveSlice)
	s.data.DELETE(ecPrefix+":bucket/*", s.dropSlice)
}

func encodeSliceHeader(m *codec.SliceMeta) string {
	return base64.RawURLEncoding.EncodeToString(codec.EncodeSliceMeta(m))
}

func decodeSliceHeader(v string) (*codec.SliceMeta, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || v == "" {
		return nil, fmt.Errorf("%w: %s missing or not base64url", meta.ErrInvalidRequest, headerSliceMeta)
	}
	m, err := codec.DecodeSliceMeta(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", meta.ErrInvalidRequest, headerSliceMeta, err)
	}
	return m, nil
}

// ecFenced admits a job's write by its lease's fencing token (writes outside a job carry none).
func (s *Server) ecFenced(r *http.Request) error {
	lease := r.Header.Get(headerLease)
	if lease == "" {
		return nil
	}
	token, err := strconv.ParseUint(r.Header.Get(headerToken), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s", meta.ErrInvalidRequest, headerToken)
	}
	if err := s.reb.fence.Admit(lease, token); err != nil {
		s.ec.refused.Add(1)
		s.log.Warn("refused an EC write with a stale fencing token", "lease", lease, "token", token, "err", err)
		return err
	}
	return nil
}

func (s *Server) receiveSlice(c echo.Context) error {
	r := c.Request()
	bucket, name, err := internalName(r.URL.Path, ecPrefix)
	if err != nil {
		return err
	}
	if err := s.ecFenced(r); err != nil {
		return err
	}
	b, err := s.copyBucket(r, bucket)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("repair") != "" {
		// A slice holder found this owner without its copy (ec-repair).
		view := s.follower.Current()
		if _, err := s.repairObject(r.Context(), view, b, name, nil, false); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	}
	if r.URL.Query().Get("stub") != "" {
		rec, err := decodeSliceHeader(r.Header.Get(headerSliceMeta))
		if err != nil {
			return err
		}
		var epoch uint64
		if view := s.follower.Current(); view != nil {
			epoch = view.Snap.Epoch
		}
		if err := s.putStub(r.Context(), b, name, rec, epoch); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	}
	_, err = s.store.PutSlice(r.Context(), b, name, r.Body, func() (*codec.SliceMeta, error) {
		// Admit the token again at the commit: a holder paused in the middle of a body
		// must not land it after a newer holder wrote.
		if err := s.ecFenced(r); err != nil {
			return nil, err
		}
		if v := r.Trailer.Get(headerSliceMeta); v != "" {
			return decodeSliceHeader(v)
		}
		return decodeSliceHeader(r.Header.Get(headerSliceMeta))
	})
	if err != nil {
		return err
	}
	s.ec.received.Add(1)
	return c.NoContent(http.StatusOK)
}

func (s *Server) serveSlice(c echo.Context) error {
	r := c.Request()
	bucket, name, err := internalName(r.URL.Path, ecPrefix)
	if err != nil {
		return err
	}
	b, err := s.copyBucket(r, bucket)
	if err != nil {
		return err
	}
	rec, f, err := s.store.OpenSlice(b, name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(headerSliceMeta, encodeSliceHeader(rec))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(rec.StoredSize(), 10))
	c.Response().WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead || rec.StoredSize() == 0 {
		return nil
	}
	var src io.Reader = f
	if of, ok := f.(osFiler); ok {
		src = of.OSFile()
	}
	_, err = io.Copy(c.Response().Writer, io.LimitReader(src, rec.StoredSize()))
	return err
}

// ecFence is what a job's writes carry: its lease ID and the lease's current token.
type ecFence struct {
	lease string
	token func() uint64
}

func sliceURL(n meta.Node, b *meta.Bucket, name string) string {
	return internalObjectURL(n.DataURL, ecPrefix, b.Name, name) + "?bucket_id=" + strconv.FormatUint(b.ID, 10)
}

// sliceSender streams one slice or replica to a target. Its Writer never fails (a failure is
// kept for Close), so one slow or dead receiver does not break the owner's own write.
type sliceSender struct {
	pw   *io.PipeWriter
	req  *http.Request
	done chan error
	err  error
}

// startSlice opens a streaming PUT of a slice to n. The final record goes in the trailer, set
// by finish before the body ends.
func (s *Server) startSlice(ctx context.Context, n meta.Node, b *meta.Bucket, name string, pre *codec.SliceMeta, f *ecFence) *sliceSender {
	pr, pw := io.Pipe()
	ss := &sliceSender{pw: pw, done: make(chan error, 1)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, sliceURL(n, b, name), pr)
	if err != nil {
		ss.err = err
		_ = pr.CloseWithError(err)
		ss.done <- err
		return ss
	}
	req.ContentLength = -1
	req.Header.Set(headerSliceMeta, encodeSliceHeader(pre))
	req.Trailer = http.Header{headerSliceMeta: nil}
	if f != nil {
		req.Header.Set(headerLease, f.lease)
		req.Header.Set(headerToken, strconv.FormatUint(f.token(), 10))
	}
	ss.req = req
	go func() {
		resp, err := s.reb.peer.Do(req)
		if err == nil {
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("target: slice %d to %s: %w", pre.Index, n.ID, api.ReadError(resp))
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		} else {
			err = fmt.Errorf("%w: slice %d to %s: %v", meta.ErrUnavailable, pre.Index, n.ID, err)
		}
		_ = pr.CloseWithError(fmt.Errorf("receiver answered: %v", err))
		ss.done <- err
	}()
	return ss
}

func (ss *sliceSender) Write(p []byte) (int, error) {
	if ss.err == nil {
		if _, err := ss.pw.Write(p); err != nil {
			ss.err = err
		}
	}
	return len(p), nil
}

// finish sends the final record as the trailer, ends the body and waits for the answer.
func (ss *sliceSender) finish(rec *codec.SliceMeta) error {
	if ss.req != nil && ss.err == nil {
		ss.req.Trailer.Set(headerSliceMeta, encodeSliceHeader(rec))
		_ = ss.pw.Close()
	} else {
		_ = ss.pw.CloseWithError(fmt.Errorf("target: slice abandoned: %v", ss.err))
	}
	err := <-ss.done
	if err == nil && ss.err != nil {
		err = ss.err
	}
	return err
}

// abort ends the body with an error (the receiver drops its work file) and waits.
func (ss *sliceSender) abort(cause error) {
	_ = ss.pw.CloseWithError(cause)
	<-ss.done
}

// putSliceFrom sends a complete slice of known size (a job's write) and waits for the answer.
func (s *Server) putSliceFrom(ctx context.Context, n meta.Node, b *meta.Bucket, rec *codec.SliceMeta, body io.Reader, f *ecFence, stub bool) error {
	u := sliceURL(n, b, rec.Name)
	if stub {
		u += "&stub=1"
		body = http.NoBody
	}
	if f != nil && !stub && rec.StoredSize() > 0 {
		body = s.reb.limiter.Reader(ctx, body) // jobs share the target's rebalance.bandwidth
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
	if err != nil {
		return err
	}
	if stub {
		req.ContentLength = 0
	} else {
		req.ContentLength = rec.StoredSize()
		if rec.StoredSize() == 0 {
			req.Body = http.NoBody
		}
	}
	req.Header.Set(headerSliceMeta, encodeSliceHeader(rec))
	if f != nil {
		req.Header.Set(headerLease, f.lease)
		req.Header.Set(headerToken, strconv.FormatUint(f.token(), 10))
	}
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return fmt.Errorf("%w: slice %d of %s to %s: %v", meta.ErrUnavailable, rec.Index, rec.Name, n.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("target: slice %d of %s to %s: %w", rec.Index, rec.Name, n.ID, api.ReadError(resp))
	}
	return nil
}

// headSlice asks n for its slice or replica of an object: (nil, nil) if it has none.
func (s *Server) headSlice(ctx context.Context, n meta.Node, b *meta.Bucket, name string) (*codec.SliceMeta, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, sliceURL(n, b, name), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return decodeSliceHeader(resp.Header.Get(headerSliceMeta))
	case http.StatusNotFound:
		return nil, nil
	}
	return nil, fmt.Errorf("target: HEAD slice on %s: %s", n.ID, resp.Status)
}

// getSlice opens n's slice or replica of an object for reading.
func (s *Server) getSlice(ctx context.Context, n meta.Node, b *meta.Bucket, name string) (*codec.SliceMeta, io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sliceURL(n, b, name), nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, nil, api.ReadError(resp)
	}
	rec, err := decodeSliceHeader(resp.Header.Get(headerSliceMeta))
	if err != nil {
		resp.Body.Close()
		return nil, nil, err
	}
	return rec, resp.Body, nil
}
