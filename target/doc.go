// Package target is the storage daemon: it keeps objects on its mountpaths in the open on-disk
// format and serves them over HTTP to clients sent by gateways.
package target
