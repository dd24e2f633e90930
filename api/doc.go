// Package api is the wire contract of AIS: request and response types, stable JSON error codes,
// and Go clients for the gateway, meta and target endpoints.
package api
