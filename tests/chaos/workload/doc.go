// Package workload runs the clients of a chaos test: each issues object operations through a
// gateway and records them (invoke, then ok, fail or info) in the history, with bodies that
// name their key and write so a torn, misplaced or damaged read is detected.
package workload
