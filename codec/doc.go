// Package codec turns object bytes into checksums and Reed-Solomon slices (and rebuilds objects
// from slices) without doing any I/O of its own.
package codec
