package raftfsm

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/aisfoundry/ais/meta"
)

// SnapshotVersion is the first byte of an encoded snapshot.
//
// History:
//   - 1 (2026-11-25): JSON of state: applied index, published view, leases.
const SnapshotVersion byte = 1

// state is the whole machine as it is persisted. encoding/json writes map keys sorted, so the
// encoding of a state is deterministic.
type state struct {
	Applied uint64                `json:"applied"`
	View    *meta.Snapshot        `json:"view"`
	Leases  map[string]meta.Lease `json:"leases"`
}

func (m *Machine) state() state {
	return state{Applied: m.applied, View: m.view, Leases: m.leases}
}

// EncodeSnapshot returns the persisted form of the machine: SnapshotVersion followed by JSON.
func (m *Machine) EncodeSnapshot() []byte {
	body, err := json.Marshal(m.state())
	if err != nil {
		panic(fmt.Sprintf("raftfsm: encode snapshot: %v", err)) // plain data; cannot happen
	}
	return append([]byte{SnapshotVersion}, body...)
}

// Restore rebuilds a machine from EncodeSnapshot's output.
func Restore(data []byte) (*Machine, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("raftfsm: restore: empty snapshot")
	}
	if data[0] != SnapshotVersion {
		return nil, fmt.Errorf("raftfsm: restore: snapshot version %d; this binary knows %d", data[0], SnapshotVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data[1:]))
	dec.DisallowUnknownFields()
	var st state
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("raftfsm: restore: %w", err)
	}
	if st.View == nil {
		return nil, fmt.Errorf("raftfsm: restore: snapshot has no view")
	}
	if st.View.Nodes == nil {
		st.View.Nodes = map[string]meta.Node{}
	}
	if st.View.Buckets == nil {
		st.View.Buckets = map[string]meta.Bucket{}
	}
	if st.Leases == nil {
		st.Leases = map[string]meta.Lease{}
	}
	return &Machine{view: st.View, leases: st.Leases, applied: st.Applied}, nil
}

// Dump returns the whole state as indented JSON with sorted keys, for golden files and for
// comparing members.
func (m *Machine) Dump() []byte {
	body, err := json.MarshalIndent(m.state(), "", "  ")
	if err != nil {
		panic(fmt.Sprintf("raftfsm: dump: %v", err))
	}
	return append(body, '\n')
}
