package target

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Jobs API of the control listener (the gateway's /v1/jobs aggregates it over all targets):
//
//	GET    /v1/internal/jobs?kind=K   -> api.NodeJobs: this target's jobs, oldest first
//	GET    /v1/internal/jobs/{id}     -> meta.JobStatus
//	DELETE /v1/internal/jobs/{id}     -> meta.JobStatus once the job has stopped (abort)
//	POST   /v1/internal/jobs          body api.JobRequest -> meta.JobStatus of the started job
func (s *Server) jobRoutes(e *echo.Echo) {
	e.GET("/v1/internal/jobs", s.listJobs)
	e.POST("/v1/internal/jobs", s.startJob)
	e.GET("/v1/internal/jobs/:id", s.showJob)
	e.DELETE("/v1/internal/jobs/:id", s.abortJob)
}

func (s *Server) listJobs(c echo.Context) error {
	return c.JSON(http.StatusOK, api.NodeJobs{Jobs: s.jobs.List(c.QueryParam("kind"))})
}

func (s *Server) showJob(c echo.Context) error {
	j, err := s.jobs.Get(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j.Status())
}

func (s *Server) abortJob(c echo.Context) error {
	st, err := s.jobs.Abort(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) startJob(c echo.Context) error {
	var req api.JobRequest
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		return fmt.Errorf("%w: job request: %v", meta.ErrInvalidRequest, err)
	}
	if req.ID == "" {
		return fmt.Errorf("%w: a job request needs an ID", meta.ErrInvalidRequest)
	}
	j, err := s.jobs.StartKind(req.Kind, req.ID, req.Args)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j.Status())
}
