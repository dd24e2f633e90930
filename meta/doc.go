// Package meta is the vocabulary of the cluster: nodes, the cluster map, buckets and their
// properties, epochs, leases, object name rules, HRW placement and typed errors.
//
// It does no I/O, reads no clock and starts no goroutine.
package meta
