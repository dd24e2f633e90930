// Package netns gives each node of a chaos test its own Linux network namespace, joined by a
// bridge the package creates and removes, and injects network faults (partitions, packet
// loss) with nftables rules inside those namespaces.
package netns
