package api

import "github.com/aisfoundry/ais/meta"

// BucketSummary is the answer of GET /v1/buckets/{bucket}/summary on a gateway (the sums over
// every target) and, with one entry in Targets and no props, of GET
// /v1/internal/summary/{bucket} on a target's control listener.
type BucketSummary struct {
	Bucket string `json:"bucket"`
	// Objects and LogicalBytes count each object once, whatever its copies.
	Objects      int64 `json:"objects"`
	LogicalBytes int64 `json:"logical_bytes"`
	// DiskBytes is what the bucket takes on the mountpaths: object files with every mirror
	// copy (Files of them), plus ECBytes of erasure-coding slices and replicas.
	DiskBytes int64 `json:"disk_bytes"`
	Files     int64 `json:"files"`
	ECBytes   int64 `json:"ec_bytes"`
	// Mirror and EC are the bucket's properties (gateway only).
	Mirror      *meta.MirrorProps `json:"mirror,omitempty"`
	EC          *meta.ECProps     `json:"ec,omitempty"`
	Targets     []TargetSummary   `json:"targets,omitempty"`
	Unreachable []string          `json:"unreachable,omitempty"`
}

// TargetSummary is one target's part of a BucketSummary.
type TargetSummary struct {
	Node         string `json:"node"`
	Objects      int64  `json:"objects"`
	LogicalBytes int64  `json:"logical_bytes"`
	DiskBytes    int64  `json:"disk_bytes"`
	Files        int64  `json:"files"`
	ECBytes      int64  `json:"ec_bytes"`
}
