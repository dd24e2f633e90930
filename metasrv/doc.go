// Package metasrv runs the metadata service: a hashicorp/raft member over raftfsm with its
// control HTTP API, epoch watch, health monitor and lease grants.
package metasrv
