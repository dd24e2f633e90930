package api

import "github.com/aisfoundry/ais/meta"

// Headers of the native API.
const (
	HeaderEpoch         = "Ais-Epoch"          // the sender's epoch, on every request between nodes
	HeaderChecksumType  = "Ais-Checksum-Type"  // object checksum type (request: client's; response: stored)
	HeaderChecksumValue = "Ais-Checksum-Value" // hex
	HeaderVersion       = "Ais-Version"        // object version, counting up from 1
	HeaderRequestID     = "Ais-Request-Id"     // carried from gateway to target and into logs
	HeaderErrorCode     = "Ais-Error-Code"     // the error code, also on HEAD answers
	HeaderMetaLeader    = "Ais-Meta-Leader"    // HTTP URL of the meta leader, when known
)

// MetaMember is one member of the meta quorum as /v1/cluster shows it.
type MetaMember struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPURL  string `json:"http_url"`
	Leader   bool   `json:"leader"`
	Voter    bool   `json:"voter"`
}

// ClusterInfo is the answer of GET /v1/cluster on meta and on gateways.
type ClusterInfo struct {
	Epoch        uint64       `json:"epoch"`
	Leader       string       `json:"leader"` // meta member ID
	Term         uint64       `json:"term"`
	CommitIndex  uint64       `json:"commit_index"`
	AppliedIndex uint64       `json:"applied_index"`
	Meta         []MetaMember `json:"meta"`
	Nodes        []meta.Node  `json:"nodes"` // sorted by ID; gateways and targets
}

// Health is the answer of GET /v1/health.
type Health struct {
	Status string `json:"status"` // "ok"
	Node   string `json:"node"`
	Role   string `json:"role"`
	Epoch  uint64 `json:"epoch"`
}

// BucketList is the answer of GET /v1/buckets.
type BucketList struct {
	Buckets []meta.Bucket `json:"buckets"`
}

// JoinResponse answers POST /v1/meta/join.
type JoinResponse struct {
	Epoch uint64    `json:"epoch"`
	Node  meta.Node `json:"node"`
}

// Heartbeat is the body of POST /v1/meta/heartbeat.
type Heartbeat struct {
	ID       string `json:"id"`
	Capacity uint64 `json:"capacity,omitempty"`
	Used     uint64 `json:"used,omitempty"`
}

// HeartbeatResponse answers a heartbeat with the current epoch, so a node that missed one
// fetches it.
type HeartbeatResponse struct {
	Epoch uint64 `json:"epoch"`
}

// NodeStateRequest is the body of POST /v1/meta/nodes/{id}/state.
type NodeStateRequest struct {
	State meta.NodeState `json:"state"`
}

// LeaseRequest is the body of POST /v1/meta/leases (grant) and
// POST /v1/meta/leases/{job}/renew (renew; Token is required).
type LeaseRequest struct {
	JobID  string        `json:"job_id"`
	Kind   string        `json:"kind"`
	Holder string        `json:"holder"`
	TTL    meta.Duration `json:"ttl,omitempty"` // 0: the cluster's lease_ttl
	Token  uint64        `json:"token,omitempty"`
}

// ObjectEntry is one object in a listing.
type ObjectEntry struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Checksum string `json:"checksum,omitempty"` // "type:hex"
	Version  uint64 `json:"version,omitempty"`
	Mtime    int64  `json:"mtime,omitempty"` // Unix nanoseconds
	ETag     string `json:"etag,omitempty"`  // the S3 entity tag, unquoted (docs/s3.md)
	// Epoch is the cluster epoch the object was written at; copies of one name order by it
	// first (docs/rebalance.md, "Which copy wins").
	Epoch uint64 `json:"epoch,omitempty"`
}

// ObjectList is one page of a listing. An empty NextToken means the listing is complete.
type ObjectList struct {
	Entries   []ObjectEntry `json:"entries"`
	NextToken string        `json:"next_token"`
}

// TargetObjectList is a target's page of a listing, as a gateway asks for it: the entries,
// and while the cluster is unsettled the target's tombstones in the page's range of names
// (objects deleted during a rebalance whose older copies may still sit on other targets). The
// gateway leaves out a name whose listed copy a tombstone kills.
type TargetObjectList struct {
	ObjectList
	Tombstones []Tombstone `json:"tombstones,omitempty"`
}

// Tombstone is a delete during a rebalance: it kills copies of the name written at an earlier
// epoch, or at its epoch no later than its time.
type Tombstone struct {
	Name  string `json:"name"`
	Epoch uint64 `json:"epoch"`
	Mtime int64  `json:"mtime"` // Unix nanoseconds
}

// Kills reports whether the tombstone kills the listed copy e.
func (t Tombstone) Kills(e ObjectEntry) bool {
	if e.Epoch != t.Epoch {
		return e.Epoch < t.Epoch
	}
	return e.Mtime <= t.Mtime
}
