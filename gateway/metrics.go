package gateway

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisfoundry/ais/telemetry"
)

// telemetryState is the gateway's Prometheus registry and HTTP instruments, served at
// /v1/metrics on the public listener and, with a control listener, at /metrics there, next to
// pprof (control.go).
type telemetryState struct {
	reg    *prometheus.Registry
	http   *telemetry.HTTP
	public echo.MiddlewareFunc // instruments the public port: native routes and S3 (s3Entry)
}

// Metrics returns the gateway's metrics registry.
func (g *Gateway) Metrics() *prometheus.Registry { return g.tel.reg }

// gatewayOps names the native API's routes and the S3 API's operations in metrics; other
// routes keep the default "<method> <route>" name.
func gatewayOps(method, route string) string {
	if op, ok := strings.CutPrefix(route, s3RoutePrefix); ok {
		return op // set by serveS3: s3_get_object, s3_list_objects, ...
	}
	switch route {
	case "/v1/objects/*":
		return strings.ToLower(method) // put, get, head, delete
	case "/v1/buckets":
		return "list_buckets"
	case "/v1/buckets/:bucket":
		switch method {
		case http.MethodPut:
			return "create_bucket"
		case http.MethodHead:
			return "head_bucket"
		case http.MethodGet:
			return "list_objects"
		case http.MethodDelete:
			return "destroy_bucket"
		}
	case "/v1/buckets/:bucket/props":
		if method == http.MethodPatch {
			return "set_bucket_props"
		}
		return "bucket_props"
	case "/v1/cluster":
		return "cluster"
	case "/v1/cluster/nodes/:id/state":
		return "set_node_state"
	case "/v1/health":
		return "health"
	case "/metrics", "/v1/metrics":
		return "metrics"
	}
	if strings.HasPrefix(route, "/debug/pprof/") {
		return "pprof"
	}
	return ""
}

// installTelemetry builds the registry and instruments the public API. routes calls it.
func (g *Gateway) installTelemetry(e *echo.Echo) {
	t := &telemetryState{reg: telemetry.NewRegistry("gw", g.cfg.ID)}
	g.tel = t
	t.http = telemetry.NewHTTP(t.reg, "gw", gatewayOps)
	t.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_gw_epoch",
			Help: "Epoch of the cluster map this gateway routes with."},
			func() float64 { return float64(g.follower.Epoch()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_gw_active_targets",
			Help: "Active targets in the epoch this gateway routes with."},
			func() float64 {
				if v := g.follower.Current(); v != nil {
					return float64(v.Placement.Len())
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ais_gw_draining",
			Help: "1 while the gateway drains before it stops."},
			func() float64 {
				if g.draining.Load() {
					return 1
				}
				return 0
			}),
	)
	if g.handoff != nil {
		t.reg.MustRegister(g.handoff.answers)
	}
	t.public = t.http.Middleware("public")
	e.Use(t.public)
	// Every path outside /v1/ is the S3 API's (a bucket may be called "metrics"), so the
	// public port serves the metrics under /v1/; the control port at /metrics.
	e.GET("/v1/metrics", echo.WrapHandler(telemetry.Handler(t.reg)))
}
