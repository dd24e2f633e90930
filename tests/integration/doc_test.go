// Package integration holds the multi-process tests: real ais-meta, ais-target and ais-gw
// processes on loopback, started by the tests through tests/cluster. They are skipped under
// -short.
package integration
