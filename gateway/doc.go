// Package gateway is the front door of AIS: it serves the native REST API, routes object
// requests to their owning targets from its cached epoch, and forwards bucket control to meta.
package gateway
