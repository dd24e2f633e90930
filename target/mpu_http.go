package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Multipart requests of the gateway's S3 API on the public listener (signed like every data
// request; all carry ais_s3=1):
//
//	POST   /v1/objects/{b}/{o}?uploads                       create -> api.UploadInfo
//	PUT    /v1/objects/{b}/{o}?uploadId=U&partNumber=N       part -> ETag header, api.PartInfo
//	GET    /v1/objects/{b}/{o}?uploadId=U                    list parts -> api.PartList
//	POST   /v1/objects/{b}/{o}?uploadId=U  api.CompleteRequest -> api.CompleteResult
//	DELETE /v1/objects/{b}/{o}?uploadId=U                    abort -> 204
//
// and on the control listener: GET /v1/internal/uploads/{b}?prefix=P -> api.UploadList.

// s3Post admits POST (multipart create and complete) only with ais_s3=1: the native API has
// no POST on objects.
func (s *Server) s3Post(c echo.Context) error {
	if r := c.Request(); !s3Request(r) {
		return fmt.Errorf("%w: %s %s", api.ErrMethodNotAllowed, r.Method, r.URL.Path)
	}
	return s.object(c)
}

func (s *Server) mpuCreate(c echo.Context, b *meta.Bucket, name string) error {
	r := c.Request()
	custom, err := s3Attrs(r.Header)
	if err != nil {
		return err
	}
	alg := ""
	for _, k := range []string{"x-amz-checksum-algorithm", HeaderS3Checksum} {
		if v := r.Header.Get(k); v != "" {
			sa := s3ChecksumOf(v)
			if sa == nil {
				return fmt.Errorf("%w: checksum algorithm %q: use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256", meta.ErrInvalidRequest, v)
			}
			alg = sa.name
			break
		}
	}
	info, err := s.store.CreateUpload(b, name, custom, alg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}

func (s *Server) mpuPutPart(c echo.Context, b *meta.Bucket, name, uploadID, partNumber string) error {
	r := c.Request()
	n, err := strconv.Atoi(partNumber)
	if err != nil || n < 1 || n > maxParts {
		return fmt.Errorf("%w: partNumber %q must be 1 to %d", meta.ErrInvalidRequest, partNumber, maxParts)
	}
	sums, err := newS3Sums(r.Header, "")
	if err != nil {
		return err
	}
	p, err := s.store.PutPart(r.Context(), PartArgs{Bucket: b, Name: name, UploadID: uploadID, Number: n,
		Body: r.Body, Size: r.ContentLength, Sums: sums})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", `"`+p.ETag+`"`)
	if p.Checksum != "" {
		h.Set("x-amz-checksum-"+sums.sum.name, p.Checksum)
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) mpuListParts(c echo.Context, b *meta.Bucket, name, uploadID string) error {
	pl, err := s.store.ListParts(b, name, uploadID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pl)
}

func (s *Server) mpuComplete(c echo.Context, view *api.View, b *meta.Bucket, name, uploadID string) error {
	r := c.Request()
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", meta.ErrIncompleteBody, err)
	}
	var req api.CompleteRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("%w: completion body: %v", meta.ErrInvalidRequest, err)
	}
	guard, err := s.s3PutCondition(r.Header, b, name)
	if err != nil {
		return err
	}
	m, res, err := s.store.CompleteUpload(r.Context(), CompleteArgs{Bucket: b, Epoch: view.Snap.Epoch, Name: name,
		UploadID: uploadID, Parts: req.Parts, Guard: guard})
	if err != nil {
		return err
	}
	if err := s.ecAfterWrite(r.Context(), view, b, name); err != nil { // ec_put.go
		return err
	}
	h := c.Response().Header()
	setObjectHeaders(h, m)
	h.Set("ETag", `"`+res.ETag+`"`)
	return c.JSON(http.StatusOK, res)
}

func (s *Server) mpuAbort(c echo.Context, b *meta.Bucket, name, uploadID string) error {
	if err := s.store.AbortUpload(b, name, uploadID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listUploads answers GET /v1/internal/uploads/{bucket}?prefix=P on the control listener.
func (s *Server) listUploads(c echo.Context) error {
	bucket := c.Param("bucket")
	if err := meta.ValidateBucketName(bucket); err != nil {
		return err
	}
	view := s.follower.Current()
	if view == nil {
		var err error
		if view, err = s.waitEpoch(c.Request().Context(), 1); err != nil {
			return err
		}
	}
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		return fmt.Errorf("%w: ais://%s at epoch %d", meta.ErrBucketNotFound, bucket, view.Snap.Epoch)
	}
	ups, err := s.store.ListUploads(&b, c.QueryParam("prefix"))
	if err != nil {
		return err
	}
	if ups == nil {
		ups = []api.UploadInfo{}
	}
	return c.JSON(http.StatusOK, api.UploadList{Uploads: ups})
}

// uploadJanitor removes expired and orphaned multipart uploads every quarter of the expiry
// (1 s to 1 h) until ctx ends.
func (s *Server) uploadJanitor(ctx context.Context) {
	expiry := s.cfg.MultipartExpiry
	every := min(max(expiry/4, time.Second), time.Hour)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(every):
		}
		v := s.follower.Current()
		if v == nil {
			continue
		}
		n, err := s.store.SweepUploads(v.Snap, expiry)
		if err != nil {
			s.log.Warn("sweeping multipart uploads", "err", err)
		}
		if n > 0 {
			s.log.Info("removed expired multipart uploads", "count", n)
		}
	}
}
