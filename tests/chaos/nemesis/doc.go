// Package nemesis injects faults into a running test cluster (partitions, packet loss,
// SIGKILL and restart, SIGSTOP and SIGCONT, on-disk damage, a full disk) on a schedule drawn
// from a seeded generator, records each in the history, and measures recovery after each heal.
package nemesis
