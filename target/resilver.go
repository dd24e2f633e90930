package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// A resilver moves a target's objects to their HRW mountpath after its mountpaths changed
// (attach, detach, enable, disable), as a job with progress. Until an object has moved, Open
// finds it on its old mountpath and listings show it once; a detached or disabled mountpath is
// drained, then released.

// resilverNode is what the balancer's executor sees of this target during a resilver.
type resilverNode struct{ s *Server }

var _ balancer.Node = (*resilverNode)(nil)

func (n *resilverNode) Walk(ctx context.Context, fn func(balancer.Item) error) error {
	return n.s.store.Walk(ctx, fn)
}

func (n *resilverNode) Generation() uint64 { return n.s.store.mpset.Load().gen }

func (n *resilverNode) Plan(items []balancer.Item) []balancer.Move {
	v := n.s.follower.Current()
	keep := items[:0:0]
	for _, it := range items {
		if b, ok := v.Snap.Buckets[it.BucketKey]; ok && b.ID == it.BucketID && !n.s.store.isMirrorCopy(&b, it) {
			keep = append(keep, it)
		}
	}
	return balancer.PlanResilver(n.s.store.mountpaths(), keep)
}

func (n *resilverNode) bucket(it balancer.Item) (*api.View, *meta.Bucket, bool) {
	v := n.s.follower.Current()
	b, ok := v.Snap.Buckets[it.BucketKey]
	return v, &b, ok && b.ID == it.BucketID
}

// Send copies an object to its HRW mountpath with the write protocol (keeping version, mtime
// and custom metadata, checking the checksum), unless a newer copy is there already.
func (n *resilverNode) Send(ctx context.Context, m balancer.Move) (balancer.Outcome, error) {
	v, b, ok := n.bucket(m.Item)
	if !ok {
		return balancer.Refused, nil
	}
	o, err := n.s.store.OpenCopy(m.Item.Mountpath, b, m.Item.Name)
	if err != nil {
		if meta.KindOf(err) == meta.KindNotExist {
			return balancer.Kept, nil
		}
		return 0, err
	}
	defer o.Close()
	om := o.Meta
	want := Checksum{}
	if om.ChecksumType != meta.ChecksumNone && len(om.Checksum) > 0 {
		want = Checksum{Type: om.ChecksumType, Value: om.Checksum}
	}
	_, err = n.s.store.Put(ctx, PutArgs{Bucket: b, Epoch: v.Snap.Epoch, Name: om.Name,
		Body: n.s.reb.limiter.Reader(ctx, io.NewSectionReader(o.File, 0, om.Size)), Size: om.Size,
		Want: want, Custom: om.Custom, KeepVersion: om.Version, KeepMtime: om.Mtime, KeepEpoch: om.Epoch,
		Guard: func(cur *ObjectMeta) error {
			if !newerCopy(om.stamp(), cur) {
				return errCopyKept
			}
			return nil
		}})
	switch {
	case errors.Is(err, errCopyKept):
		return balancer.Kept, nil
	case err != nil:
		return 0, err
	}
	return balancer.Stored, nil
}

func (n *resilverNode) Remove(ctx context.Context, m balancer.Move) error {
	_, b, ok := n.bucket(m.Item)
	if !ok {
		return nil
	}
	return n.s.store.RemoveCopy(m.Item.Mountpath, b, m.Item.Name, m.Item.Version, m.Item.Mtime, b.Props.Write.Fsync)
}

// startResilver supersedes a running resilver and starts a new one towards the current
// mountpaths. Once it is done, the drained mountpaths are released.
func (s *Server) startResilver(id string) (*jobs.Job, error) {
	for _, j := range s.jobs.Running(meta.JobResilver) {
		j.Abort(jobs.ErrSuperseded)
		<-j.Done()
	}
	var epoch uint64
	if v := s.follower.Current(); v != nil {
		epoch = v.Snap.Epoch
	}
	return s.jobs.Start(meta.JobResilver, id, epoch, func(ctx context.Context, j *jobs.Job) error {
		err := balancer.Run(ctx, j, &resilverNode{s: s}, balancer.Config{Workers: s.reb.cfg.Workers,
			Grace: s.reb.cfg.Grace, Log: s.reb.log})
		if err == nil {
			err = s.refillMirrors(ctx, j) // mirror_jobs.go: copies lost with a mountpath
		}
		if err == nil {
			s.store.drained(s.store.mpset.Load().gen)
		}
		return err
	})
}

// mountpathRoutes adds the control listener's mountpath endpoints:
//
//	GET  /v1/internal/mountpaths  -> api.MountpathResponse
//	POST /v1/internal/mountpaths  body api.MountpathRequest -> api.MountpathResponse with the
//	                              resilver job that moves the objects
func (s *Server) mountpathRoutes(e *echo.Echo) {
	e.GET("/v1/internal/mountpaths", func(c echo.Context) error {
		st := s.store.mountpathState()
		st.Node = s.id
		return c.JSON(http.StatusOK, st)
	})
	e.POST("/v1/internal/mountpaths", s.changeMountpath)
}

func (s *Server) changeMountpath(c echo.Context) error {
	var req api.MountpathRequest
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		return fmt.Errorf("%w: mountpath request: %v", meta.ErrInvalidRequest, err)
	}
	if _, err := s.store.changeMountpaths(req.Action, req.Path); err != nil {
		return err
	}
	s.reregister(c.Request().Context())
	j, err := s.startResilver(fmt.Sprintf("%s-%s-%d", meta.JobResilver, s.id, s.clock.Now().UnixMilli()))
	if err != nil {
		return err
	}
	st := s.store.mountpathState()
	st.Node, st.Job = s.id, j.ID()
	return c.JSON(http.StatusOK, st)
}

// reregister tells meta the target's mountpaths now (a new epoch; placement does not change).
func (s *Server) reregister(ctx context.Context) {
	select {
	case <-s.ready:
	default:
		return // not running (unit tests)
	}
	n := s.Node()
	n.Mountpaths = s.store.Mountpaths()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.mc.Join(ctx, n); err != nil {
		s.log.Warn("could not tell meta the new mountpaths", "err", err)
		return
	}
	s.follower.Refresh()
}
