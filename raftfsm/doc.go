// Package raftfsm is the pure, deterministic metadata state machine: commands, Apply, and
// snapshot encode/decode.
//
// It does no I/O, reads no clock, draws no randomness and starts no goroutine: time and random
// values enter inside commands, stamped by the proposer. Decoding failures panic (a member that
// cannot read a committed command must not diverge silently); business failures (a bucket that
// exists, a lease held by another holder) are values in Result.
package raftfsm
