package meta

import (
	"fmt"
	"net"
	"strings"
)

// Role is what a node does in the cluster.
type Role string

const (
	RoleTarget  Role = "target"
	RoleGateway Role = "gateway"
)

// NodeState is a node's place in the life cycle of the cluster map.
type NodeState string

const (
	NodeJoining         NodeState = "joining"
	NodeActive          NodeState = "active"
	NodeMaintenance     NodeState = "maintenance"
	NodeDecommissioning NodeState = "decommissioning"
	NodeDown            NodeState = "down"
)

// Valid reports whether s is a known state.
func (s NodeState) Valid() bool {
	switch s {
	case NodeJoining, NodeActive, NodeMaintenance, NodeDecommissioning, NodeDown:
		return true
	}
	return false
}

// Node is one gateway or target in the cluster map. Addresses are URLs such as
// "http://127.0.0.1:9001".
type Node struct {
	ID         string    `json:"id"`
	Role       Role      `json:"role"`
	PublicURL  string    `json:"public_url"`
	ControlURL string    `json:"control_url,omitempty"`
	DataURL    string    `json:"data_url,omitempty"`
	Mountpaths []string  `json:"mountpaths,omitempty"`
	State      NodeState `json:"state"`
	// BootID names the machine the node runs on (its kernel's boot ID); Handoff is the abstract
	// Unix socket a target serves same-host hand-offs on (api/handoff.go). Either may be empty.
	BootID  string `json:"boot_id,omitempty"`
	Handoff string `json:"handoff,omitempty"`
	// Weight scales the node's share of objects in HRW placement; 0 means 1.
	Weight uint32 `json:"weight,omitempty"`
	// Capacity and Used are bytes across the node's mountpaths, as last reported.
	Capacity uint64 `json:"capacity,omitempty"`
	Used     uint64 `json:"used,omitempty"`
}

// MaxNodeIDLen bounds node IDs so they fit in paths, headers and metric labels.
const MaxNodeIDLen = 64

// ValidateNodeID checks that id is 1-64 characters of letters, digits, '-', '_' and '.'.
func ValidateNodeID(id string) error {
	if id == "" || len(id) > MaxNodeIDLen {
		return fmt.Errorf("%w: node ID must be 1 to %d characters", ErrInvalidNode, MaxNodeIDLen)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: node ID %q may hold only letters, digits, '-', '_' and '.'", ErrInvalidNode, id)
		}
	}
	return nil
}

// Validate checks a node as it arrives in a join request.
func (n *Node) Validate() error {
	if err := ValidateNodeID(n.ID); err != nil {
		return err
	}
	if n.Role != RoleTarget && n.Role != RoleGateway {
		return fmt.Errorf("%w: node %s: role must be %q or %q", ErrInvalidNode, n.ID, RoleTarget, RoleGateway)
	}
	for _, u := range []string{n.PublicURL, n.ControlURL, n.DataURL} {
		if u == "" {
			continue
		}
		if err := checkURL(u); err != nil {
			return fmt.Errorf("%w: node %s: %v", ErrInvalidNode, n.ID, err)
		}
	}
	if n.PublicURL == "" {
		return fmt.Errorf("%w: node %s: public URL is required", ErrInvalidNode, n.ID)
	}
	if len(n.BootID) > 64 {
		return fmt.Errorf("%w: node %s: boot ID longer than 64 bytes", ErrInvalidNode, n.ID)
	}
	if n.Handoff != "" && (!strings.HasPrefix(n.Handoff, "@ais-handoff/") || len(n.Handoff) > 107) {
		return fmt.Errorf("%w: node %s: hand-off socket %q is not @ais-handoff/HOST:PORT of at most 107 bytes",
			ErrInvalidNode, n.ID, n.Handoff)
	}
	if n.Role == RoleTarget && len(n.Mountpaths) == 0 {
		return fmt.Errorf("%w: target %s has no mountpaths", ErrInvalidNode, n.ID)
	}
	return nil
}

func checkURL(u string) error {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "https://")
	}
	if !ok {
		return fmt.Errorf("address %q must start with http:// or https://", u)
	}
	if _, _, err := net.SplitHostPort(strings.TrimSuffix(rest, "/")); err != nil {
		return fmt.Errorf("address %q: %v", u, err)
	}
	return nil
}

// EffectiveWeight is the node's weight for placement, at least 1.
func (n *Node) EffectiveWeight() uint32 {
	if n.Weight == 0 {
		return 1
	}
	return n.Weight
}

// Clone returns a deep copy.
func (n Node) Clone() Node {
	n.Mountpaths = append([]string(nil), n.Mountpaths...)
	return n
}
