// Package testbed runs an AIS cluster of real binaries (ais-meta, ais-target, ais-gw) with
// every node in its own network namespace, and tells when the cluster is healthy.
package testbed
