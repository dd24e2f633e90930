package raftfsm

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/aisfoundry/ais/meta"
)

// CommandVersion is the first byte of every encoded command. A member panics on a version it
// does not know, so a newer command never meets an older binary unnoticed. Adding an Op or a
// field is a format change and takes a new version.
//
// History:
//   - 1 (2026-11-25): JSON body of Command; ops node.join, node.state, node.remove,
//     bucket.create, bucket.destroy, bucket.props, config.set, config.init_key, lease.grant,
//     lease.renew, lease.release.
//   - 2 (2026-11-26): ops user.create, user.delete, key.create, key.delete; fields user,
//     access_key, key_id. Version 1 commands still decode (they are a subset).
const CommandVersion byte = 2

// minCommandVersion is the oldest command version this binary still applies.
const minCommandVersion byte = 1

// Op names a command.
type Op string

const (
	OpNodeJoin      Op = "node.join"       // Node
	OpNodeState     Op = "node.state"      // NodeID, State, From (optional precondition)
	OpNodeRemove    Op = "node.remove"     // NodeID
	OpBucketCreate  Op = "bucket.create"   // Provider, Bucket, Owner, Patch (optional)
	OpBucketDestroy Op = "bucket.destroy"  // Provider, Bucket
	OpBucketProps   Op = "bucket.props"    // Provider, Bucket, Patch
	OpConfigSet     Op = "config.set"      // Patch
	OpConfigInitKey Op = "config.init_key" // Key: set the signing key if none is set
	OpLeaseGrant    Op = "lease.grant"     // Lease: JobID, Kind, Holder, TTL
	OpLeaseRenew    Op = "lease.renew"     // Lease: JobID, Holder, Token, TTL
	OpLeaseRelease  Op = "lease.release"   // Lease: JobID, Holder
	OpUserCreate    Op = "user.create"     // User
	OpUserDelete    Op = "user.delete"     // User: the user and its access keys
	OpKeyCreate     Op = "key.create"      // AccessKey (ID, Secret, User; the user is created if new)
	OpKeyDelete     Op = "key.delete"      // KeyID
)

func (o Op) known() bool {
	switch o {
	case OpNodeJoin, OpNodeState, OpNodeRemove, OpBucketCreate, OpBucketDestroy, OpBucketProps,
		OpConfigSet, OpConfigInitKey, OpLeaseGrant, OpLeaseRenew, OpLeaseRelease,
		OpUserCreate, OpUserDelete, OpKeyCreate, OpKeyDelete:
		return true
	}
	return false
}

// Command is one change proposed to the state machine. Time (Unix nanoseconds) is stamped by
// the proposer and is the only clock Apply sees.
type Command struct {
	Op   Op    `json:"op"`
	Time int64 `json:"time"`

	Node   *meta.Node     `json:"node,omitempty"`
	NodeID string         `json:"node_id,omitempty"`
	State  meta.NodeState `json:"state,omitempty"`
	// From, if set, makes a state change conditional: it applies only if the node is in From
	// (the health monitor marks only active nodes down, and only down nodes active).
	From meta.NodeState `json:"from,omitempty"`

	Provider meta.Provider `json:"provider,omitempty"`
	Bucket   string        `json:"bucket,omitempty"`
	Owner    string        `json:"owner,omitempty"`
	// Patch is a JSON merge document for bucket properties or the cluster config; it is
	// applied inside Apply so that concurrent patches compose in log order.
	Patch json.RawMessage `json:"patch,omitempty"`

	Key   string     `json:"key,omitempty"`
	Lease *LeaseArgs `json:"lease,omitempty"`

	// User names a user; AccessKey is a new key pair (its randomness drawn by the proposer);
	// KeyID names a key to delete.
	User      string          `json:"user,omitempty"`
	AccessKey *meta.AccessKey `json:"access_key,omitempty"`
	KeyID     string          `json:"key_id,omitempty"`
}

// LeaseArgs are the arguments of the lease commands.
type LeaseArgs struct {
	JobID  string `json:"job_id"`
	Kind   string `json:"kind,omitempty"`
	Holder string `json:"holder"`
	TTL    int64  `json:"ttl,omitempty"` // nanoseconds; 0: the cluster's lease_ttl
	Token  uint64 `json:"token,omitempty"`
}

// Encode returns the replicated form of c: CommandVersion followed by JSON.
func Encode(c Command) []byte {
	body, err := json.Marshal(c)
	if err != nil {
		// Only an invalid Patch (not JSON) gets here; proposers check it first.
		panic(fmt.Sprintf("raftfsm: encode %s: %v", c.Op, err))
	}
	return append([]byte{CommandVersion}, body...)
}

// Decode reads an encoded command. It rejects unknown versions, unknown ops and unknown
// fields, so that no member applies a command it only partly understands.
func Decode(data []byte) (Command, error) {
	var c Command
	if len(data) == 0 {
		return c, fmt.Errorf("raftfsm: empty command")
	}
	if data[0] < minCommandVersion || data[0] > CommandVersion {
		return c, fmt.Errorf("raftfsm: command version %d; this binary knows %d to %d", data[0], minCommandVersion, CommandVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data[1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("raftfsm: decode command: %w", err)
	}
	if dec.More() {
		return c, fmt.Errorf("raftfsm: decode command: trailing data")
	}
	if !c.Op.known() {
		return c, fmt.Errorf("raftfsm: unknown op %q", c.Op)
	}
	return c, nil
}
