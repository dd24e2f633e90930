// Package balancer moves objects to where placement wants them: pure planning (placement and
// inventory in, moves out) for rebalance across targets and resilver across mountpaths, and
// the executor that carries the moves out through a small interface the target implements.
package balancer
