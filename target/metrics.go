package target

import (
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/telemetry"
)

// telemetryState is the target's Prometheus registry and instruments, served at /metrics on the
// control listener (with pprof under /debug/pprof/), and the request-ID plumbing of its
// listeners. docs/operations.md lists the metrics.
type telemetryState struct {
	reg      *prometheus.Registry
	http     *telemetry.HTTP
	getBytes prometheus.Counter
	putBytes prometheus.Counter
	jobs     atomic.Pointer[jobSourceBox]
	draining atomic.Bool
}

// JobSource lists a node's jobs (jobs.Registry does): the metrics report their counters.
type JobSource interface {
	List(kind string) []meta.JobStatus
}

type jobSourceBox struct{ js JobSource }

// SetJobSource makes the target's job counters visible in its metrics
// (ais_target_jobs_running, ais_target_job_objects_total, ...). The jobs runtime calls it once
// it has a registry.
func (s *Server) SetJobSource(js JobSource) { s.tel.jobs.Store(&jobSourceBox{js: js}) }

// Metrics returns the target's metrics registry (tests gather from it).
func (s *Server) Metrics() *prometheus.Registry { return s.tel.reg }

// targetOps names the target's routes in metrics.
func targetOps(method, route string) string {
	switch route {
	case "/v1/objects/:bucket/*":
		switch method {
		case http.MethodPut:
			return "put"
		case http.MethodGet:
			return "get"
		case http.MethodHead:
			return "head"
		case http.MethodDelete:
			return "delete"
		}
	case "/v1/internal/objects/:bucket":
		return "list"
	case "/v1/health":
		return "health"
	case "/metrics":
		return "metrics"
	}
	if len(route) > len("/debug/pprof/") && route[:len("/debug/pprof/")] == "/debug/pprof/" || route == "/debug/pprof/" {
		return "pprof"
	}
	return ""
}

// installTelemetry builds the registry, instruments the three listeners and serves /metrics
// and pprof on the control listener. New calls it once the listeners' handlers exist.
func (s *Server) installTelemetry() {
	t := &telemetryState{reg: telemetry.NewRegistry("target", s.id)}
	s.tel = t
	t.http = telemetry.NewHTTP(t.reg, "target", targetOps)
	t.getBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "ais_target_get_bytes_total",
		Help: "Object bytes sent in answers to GET (whole objects and ranges)."})
	t.putBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "ais_target_put_bytes_total",
		Help: "Object bytes received in PUTs that succeeded."})
	t.http.OnDone = func(r telemetry.Request) {
		switch {
		case r.Op == "get" && r.Status < 300:
			t.getBytes.Add(float64(r.Out))
		case r.Op == "put" && r.Status < 300:
			t.putBytes.Add(float64(r.In))
		}
	}
	t.reg.MustRegister(t.getBytes, t.putBytes,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_target_epoch",
			Help: "Epoch of the cluster map this target holds."},
			func() float64 { return float64(s.follower.Epoch()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_target_active",
			Help: "1 if this target is active (owns objects) in the epoch it holds, else 0."},
			func() float64 {
				if v := s.follower.Current(); v != nil && v.Snap.Nodes[s.id].State == meta.NodeActive {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_target_draining",
			Help: "1 while the target drains before it stops."},
			func() float64 {
				if t.draining.Load() {
					return 1
				}
				return 0
			}),
		newMountpathCollector(s.store.Mountpaths()),
		s.mphealth.ioErrors, s.mphealth.failures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_target_mountpaths_disabled",
			Help: "Mountpaths disabled: by request, or by the target because their disk failed its health probe."},
			func() float64 { return float64(len(s.store.mpset.Load().disabled)) }),
		&jobCollector{src: func() JobSource {
			if b := t.jobs.Load(); b != nil {
				return b.js
			}
			return nil
		}},
	)
	for name, e := range map[string]*echo.Echo{"public": s.public, "control": s.control, "data": s.data} {
		e.Use(requestID, t.http.Middleware(name))
	}
	s.control.GET("/metrics", echo.WrapHandler(telemetry.Handler(t.reg)))
	telemetry.RegisterPprof(s.control)
}

// requestID carries the request ID a gateway gave the request (the Ais-Request-Id header in
// proxy mode, the ais_request_id query parameter of a redirect) into the answer, where
// api.WriteError also puts it in error bodies, and into the error handler's log lines.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(api.HeaderRequestID)
		if id == "" {
			id = api.QueryValue(r.URL.RawQuery, api.QueryRequestID)
		}
		if id != "" && api.ValidRequestID(id) {
			c.Response().Header().Set(api.HeaderRequestID, id)
			if r.Header.Get(api.HeaderRequestID) == "" {
				r.Header.Set(api.HeaderRequestID, id)
			}
		}
		return next(c)
	}
}
