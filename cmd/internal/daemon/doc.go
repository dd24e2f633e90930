// Package daemon is the command-line side that the three daemon mains share: config files
// with the same keys as the flags, --print-config, the logger, and the readiness protocol of
// the service manager (sd_notify).
package daemon
