// Package telemetry is what operators scrape and probe on every daemon: Prometheus metrics of
// the HTTP API and the Go runtime, served at /metrics, and pprof.
package telemetry
