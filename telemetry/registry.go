package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the Go runtime (go_*), process (process_*) and build
// (go_build_info) collectors, and ais_<daemon>_info{node} = 1.
func NewRegistry(daemon, node string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "ais_" + daemon + "_info",
			Help:        "Always 1; its labels name the node.",
			ConstLabels: prometheus.Labels{"node": node},
		}, func() float64 { return 1 }),
	)
	return reg
}

// Handler serves the registry in the Prometheus text format (or OpenMetrics, if asked).
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true})
}
