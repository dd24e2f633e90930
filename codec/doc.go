// Package codec turns object bytes into checksums (and, later, Reed-Solomon slices and archive
// streams) without doing any I/O of its own.
package codec
