// Package history records what clients and nemeses did during a chaos run, as one JSON-lines
// file of invoke/ok/fail/info events, and reads it back for the checkers.
package history
