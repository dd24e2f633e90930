// Package cluster starts real AIS processes (ais-meta, ais-target, ais-gw) on loopback for
// multi-process tests, and stops them when the test ends.
package cluster
