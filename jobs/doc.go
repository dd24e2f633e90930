// Package jobs runs a node's long operations: a registry of jobs with progress, abort and wait,
// and the lease from meta whose fencing token makes a superseded holder's writes harmless.
package jobs
