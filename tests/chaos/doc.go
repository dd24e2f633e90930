// Package chaos runs Jepsen-style tests against real AIS binaries in network namespaces:
// clients record a history while nemeses partition, kill, pause and damage nodes, and
// checkers decide whether the history is linearizable, durable and complete.
package chaos
