package target

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// errLeft ends Run after a decommission: the target removed itself from the cluster map.
var errLeft = errors.New("target: decommissioned")

// initJobs builds the job registry and the rebalancer, and adds their routes: the jobs API and
// the rebalance status on the control listener, the copy endpoints on the data listener.
func (s *Server) initJobs() {
	s.jobs = jobs.NewRegistry(s.id, s.clock.Now, s.log)
	s.SetJobSource(s.jobs)
	s.left = make(chan struct{})
	s.reb = newRebalancer(s, s.cfg.Rebalance)
	s.follower.OnNewEpoch(s.reb.onNewEpoch)
	s.store.versionFloor = s.reb.versionFloor
	s.store.epochNow = func() uint64 {
		if v := s.follower.Current(); v != nil {
			return v.Snap.Epoch
		}
		return 0
	}
	s.jobs.RegisterKind(meta.JobRebalance, func(id string, _ map[string]string) (*jobs.Job, error) {
		return s.reb.startByRequest(id)
	})

	s.jobs.RegisterKind(meta.JobResilver, func(id string, _ map[string]string) (*jobs.Job, error) {
		return s.startResilver(id)
	})

	s.initProtection() // mirror_jobs.go: mirror and scrub jobs
	s.summaryRoutes(s.control)

	s.jobRoutes(s.control)
	s.mountpathRoutes(s.control)
	s.control.GET("/v1/internal/rebalance", s.rebalanceStatus)
	s.data.PUT(rebalancePrefix+":bucket/*", s.receiveCopy)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		s.data.Add(m, copiesPrefix+":bucket/*", s.serveCopy)
	}
	s.data.DELETE(copiesPrefix+":bucket/*", s.dropCopy)
}

// runJobs starts the rebalancer's loops in g; when ctx ends it stops every job (an interrupted
// rebalance resumes at the next start). After a decommission it ends g with errLeft.
func (s *Server) runJobs(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { s.reb.run(ctx); return nil })
	g.Go(func() error { s.reb.settle(ctx); return nil })
	g.Go(func() error { s.retryECDeletes(ctx); return nil }) // ec_delete.go
	g.Go(func() error {
		select {
		case <-ctx.Done():
			s.jobs.Close()
			return nil
		case <-s.left:
			s.jobs.Close()
			return errLeft
		}
	})
}

// leaveCluster makes Run return: the target has left the cluster.
func (s *Server) leaveCluster() { s.leaveOnce.Do(func() { close(s.left) }) }
