package metasrv

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// bucketName returns the validated bucket name of the path.
func bucketName(c echo.Context) (string, error) {
	name, err := param(c, "bucket")
	if err != nil {
		return "", err
	}
	if err := meta.ValidateBucketName(name); err != nil {
		return "", fmt.Errorf("metasrv: %w", err)
	}
	return name, nil
}

// result turns a proposal's outcome into one error.
func result(r raftfsm.Result, err error) (raftfsm.Result, error) {
	if err != nil {
		return r, err
	}
	return r, r.Err
}

// PUT /v1/buckets/{bucket}: create, with an optional merge document of properties.
func (s *Server) createBucket(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	doc, err := s.mergeDoc(c)
	if err != nil {
		return err
	}
	if _, err := meta.DefaultBucketProps().Patch(doc); err != nil {
		return fmt.Errorf("metasrv: create bucket %s: %w", name, err)
	}
	owner := c.QueryParam("owner") // the S3 user that creates it (docs/s3.md)
	if owner != "" {
		if err := meta.ValidateUserName(owner); err != nil {
			return fmt.Errorf("metasrv: create bucket %s: owner: %w", name, err)
		}
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpBucketCreate, Provider: meta.ProviderAIS, Bucket: name, Owner: owner, Patch: doc}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.Bucket)
}

// GET /v1/buckets: all buckets, sorted by name.
func (s *Server) listBuckets(c echo.Context) error {
	v := s.view()
	return reply(c, v.Epoch, api.BucketList{Buckets: v.SortedBuckets()})
}

// GET /v1/buckets/{bucket}/props: one bucket from this member's published snapshot.
func (s *Server) bucketProps(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	v := s.view()
	b, ok := v.Bucket(meta.ProviderAIS, name)
	if !ok {
		return fmt.Errorf("metasrv: bucket %s: %w", meta.BucketKey(meta.ProviderAIS, name), meta.ErrBucketNotFound)
	}
	return reply(c, v.Epoch, b)
}

// PATCH /v1/buckets/{bucket}/props: apply a merge document to the properties.
func (s *Server) patchBucket(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	doc, err := s.mergeDoc(c)
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpBucketProps, Provider: meta.ProviderAIS, Bucket: name, Patch: doc}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.Bucket)
}

// DELETE /v1/buckets/{bucket}.
func (s *Server) destroyBucket(c echo.Context) error {
	name, err := bucketName(c)
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpBucketDestroy, Provider: meta.ProviderAIS, Bucket: name}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, struct{}{})
}
