package target

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/meta"
)

// A multipart upload lives on the target that owned its object when the upload was created.
// When the owner changes before Complete (a target joined, left or went down and came back),
// the new owner adopts the upload on first use: it asks the other targets which of them holds
// it, copies the record and every part (checking each part's size and MD5), and has the old
// holder remove its copy. Parts are written first and the record last, so a part that arrives
// meanwhile waits for the adoption (PutPart needs the record) and is never overwritten by an
// older copy. An upload on another mountpath of the same target (after a mountpath change) is
// used where it is. The data listener serves the holder's side:
//
//	GET    /v1/internal/uploads/{bucket}/{id}?name=O&bucket_id=N          uploadExport (404: not here)
//	GET    /v1/internal/uploads/{bucket}/{id}/parts/{n}?name=O&bucket_id=N  the part's bytes
//	DELETE /v1/internal/uploads/{bucket}/{id}?name=O&bucket_id=N          remove after adoption

const uploadsPrefix = "/v1/internal/uploads/"

// uploadExport is a held upload as the data listener describes it to its adopter.
type uploadExport struct {
	Record uploadRecord   `json:"record"`
	Parts  []api.PartInfo `json:"parts"`
}

func (s *Server) uploadRoutes() {
	s.data.GET(uploadsPrefix+":bucket/:id", s.exportUpload)
	s.data.GET(uploadsPrefix+":bucket/:id/parts/:n", s.exportPart)
	s.data.DELETE(uploadsPrefix+":bucket/:id", s.releaseUpload)
}

// ensureUpload makes sure upload id of b/name is on this target: here already, or adopted from
// the target that holds it. Nobody holding it is meta.ErrUploadNotFound; a target that may
// hold it and does not answer is meta.ErrUnavailable (the client tries again).
func (s *Server) ensureUpload(ctx context.Context, b *meta.Bucket, name, id string) error {
	if _, _, _, err := s.store.readUpload(b, name, id); !errors.Is(err, meta.ErrUploadNotFound) || !validUploadID(id) {
		return err
	}
	// Concurrent requests for one upload wait for a single adoption.
	return s.adoptions.do(id, func() error { return s.adoptUpload(ctx, b, name, id) })
}

func (s *Server) adoptUpload(ctx context.Context, b *meta.Bucket, name, id string) error {
	view := s.follower.Current()
	if view == nil {
		return fmt.Errorf("%w: no epoch yet", meta.ErrUnavailable)
	}
	unanswered := 0
	for _, n := range balancer.Holders(view.Snap) {
		if n.ID == s.id || n.DataURL == "" {
			continue
		}
		exp, err := s.fetchUploadExport(ctx, n, b, name, id)
		if err != nil {
			s.log.Warn("asking a target for a multipart upload", "upload", id, "node", n.ID, "err", err)
			unanswered++
			continue
		}
		if exp == nil {
			continue
		}
		if err := s.importUpload(ctx, n, b, name, exp); err != nil {
			return fmt.Errorf("%w: adopting upload %s from %s: %v", meta.ErrUnavailable, id, n.ID, err)
		}
		if err := s.uploadCall(ctx, http.MethodDelete, n, b, name, id, "", nil); err != nil {
			// The copy here is complete; the old one expires with the multipart expiry.
			s.log.Warn("removing an adopted upload from its old holder", "upload", id, "node", n.ID, "err", err)
		}
		s.log.Info("adopted a multipart upload", "bucket", b.Name, "object", name, "upload", id, "from", n.ID,
			"parts", len(exp.Parts))
		return nil
	}
	if unanswered > 0 || len(balancer.Down(view.Snap)) > 0 {
		return fmt.Errorf("%w: upload %s is not here and %d target(s) that may hold it did not answer", meta.ErrUnavailable, id,
			unanswered+len(balancer.Down(view.Snap)))
	}
	return fmt.Errorf("%w: %s", meta.ErrUploadNotFound, id)
}

func uploadURL(n meta.Node, b *meta.Bucket, name, id, sub string) string {
	q := url.Values{"name": {name}, "bucket_id": {strconv.FormatUint(b.ID, 10)}}
	return n.DataURL + uploadsPrefix + url.PathEscape(b.Name) + "/" + id + sub + "?" + q.Encode()
}

// uploadCall sends a request about an upload to n and decodes a JSON answer into out (if not
// nil). 404 is meta.ErrUploadNotFound.
func (s *Server) uploadCall(ctx context.Context, method string, n meta.Node, b *meta.Bucket, name, id, sub string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, uploadURL(n, b, name, id, sub), nil)
	if err != nil {
		return err
	}
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return api.ReadError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out)
}

// fetchUploadExport returns n's upload, nil if n does not hold it.
func (s *Server) fetchUploadExport(ctx context.Context, n meta.Node, b *meta.Bucket, name, id string) (*uploadExport, error) {
	var exp uploadExport
	err := s.uploadCall(ctx, http.MethodGet, n, b, name, id, "", &exp)
	if errors.Is(err, meta.ErrUploadNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if exp.Record.ID != id || exp.Record.BucketID != b.ID || exp.Record.Name != name {
		return nil, fmt.Errorf("target %s answered upload %q of %q, want %s of %q", n.ID, exp.Record.ID, exp.Record.Name, id, name)
	}
	return &exp, nil
}

// importUpload copies an upload's parts from n, then its record.
func (s *Server) importUpload(ctx context.Context, n meta.Node, b *meta.Bucket, name string, exp *uploadExport) error {
	id := exp.Record.ID
	mp, dir, err := s.store.uploadDir(b, name, id)
	if err != nil {
		return err
	}
	if err := s.store.fs.MkdirAll(dir); err != nil {
		return err
	}
	for _, p := range exp.Parts {
		if err := s.importPart(ctx, n, b, name, mp, dir, p); err != nil {
			_ = s.store.fs.RemoveAll(dir)
			return fmt.Errorf("part %d: %w", p.Number, err)
		}
	}
	rec := exp.Record
	if err := s.store.writeUploadRecord(mp, dir, &rec, b.Props.Write.Fsync); err != nil {
		_ = s.store.fs.RemoveAll(dir)
		return err
	}
	return nil
}

func (s *Server) importPart(ctx context.Context, n meta.Node, b *meta.Bucket, name, mp, dir string, p api.PartInfo) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		uploadURL(n, b, name, dir[len(dir)-2*uploadIDBytes:], "/parts/"+strconv.Itoa(p.Number)), nil)
	if err != nil {
		return err
	}
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.ReadError(resp)
	}
	st := s.store
	wf, err := st.createWork(mp)
	if err != nil {
		return err
	}
	defer wf.discard()
	f := wf.File
	h := md5.New()
	got, err := st.copyBody(ctx, f, resp.Body, []hash.Hash{h})
	if err == nil && got != p.Size {
		err = fmt.Errorf("%w: got %d of %d bytes", meta.ErrIncompleteBody, got, p.Size)
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != p.ETag {
		err = fmt.Errorf("%w: part's MD5 %x, its record says %s", meta.ErrBadDigest, h.Sum(nil), p.ETag)
	}
	if err == nil {
		raw, _ := json.Marshal(p)
		err = f.SetXattr(xattrPart, raw)
	}
	if err == nil && b.Props.Write.Fsync {
		err = f.Sync()
	}
	if err != nil {
		return err
	}
	if err := st.fs.Rename(wf.path, partPath(dir, p.Number)); err != nil {
		return err
	}
	wf.kept = true
	return f.Close()
}

// heldUpload finds an upload this target holds for an adopter's request.
func (s *Server) heldUpload(c echo.Context) (*meta.Bucket, *uploadRecord, string, string, error) {
	bucket, id, name := c.Param("bucket"), c.Param("id"), c.QueryParam("name")
	if err := meta.ValidateBucketName(bucket); err != nil {
		return nil, nil, "", "", err
	}
	if err := meta.ValidateObjectName(name); err != nil {
		return nil, nil, "", "", err
	}
	bid, err := strconv.ParseUint(c.QueryParam("bucket_id"), 10, 64)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("%w: bucket_id %q", meta.ErrInvalidRequest, c.QueryParam("bucket_id"))
	}
	b := &meta.Bucket{Provider: meta.ProviderAIS, Name: bucket, ID: bid}
	rec, mp, dir, err := s.store.readUpload(b, name, id)
	if err != nil {
		return nil, nil, "", "", err
	}
	return b, rec, mp, dir, nil
}

func (s *Server) exportUpload(c echo.Context) error {
	_, rec, _, dir, err := s.heldUpload(c)
	if err != nil {
		return err
	}
	parts, err := s.store.readParts(dir)
	if err != nil {
		return err
	}
	if parts == nil {
		parts = []api.PartInfo{}
	}
	return c.JSON(http.StatusOK, uploadExport{Record: *rec, Parts: parts})
}

func (s *Server) exportPart(c echo.Context) error {
	_, _, _, dir, err := s.heldUpload(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || n > maxParts {
		return fmt.Errorf("%w: part number %q", meta.ErrInvalidRequest, c.Param("n"))
	}
	f, err := s.store.fs.Open(partPath(dir, n))
	if err != nil {
		if notFoundErr(err) {
			return fmt.Errorf("%w: part %d of upload %s", meta.ErrUploadNotFound, n, c.Param("id"))
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), f)
	return err
}

func (s *Server) releaseUpload(c echo.Context) error {
	_, _, mp, dir, err := s.heldUpload(c)
	if err != nil {
		return err
	}
	mu := s.store.uploads.of(c.Param("id"))
	mu.Lock()
	err = s.store.removeUpload(mp, dir)
	mu.Unlock()
	if err != nil && !errors.Is(err, meta.ErrUploadNotFound) {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
