package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ClusterConfig is the configuration every node shares, owned by meta.
type ClusterConfig struct {
	// NodeTimeout is how long a node may stay silent before the leader marks it down.
	NodeTimeout Duration `json:"node_timeout"`
	// HeartbeatInterval is how often targets and gateways heartbeat to meta.
	HeartbeatInterval Duration `json:"heartbeat_interval"`
	// LeaseTTL is how long a job lease lasts without renewal.
	LeaseTTL Duration `json:"lease_ttl"`
	// RedirectTTL is how long a signed redirect URL stays valid.
	RedirectTTL Duration `json:"redirect_ttl"`
	// SigningKey (hex) signs redirect URLs from gateways to targets. Set once by the first
	// leader; never shown by the public API.
	SigningKey string `json:"signing_key,omitempty"`
	// Rebalance tunes rebalance and resilver (docs/rebalance.md).
	Rebalance RebalanceConfig `json:"rebalance,omitzero"`
}

// RebalanceConfig tunes the jobs that move objects between targets and mountpaths.
type RebalanceConfig struct {
	// Bandwidth caps the bytes per second one target sends for rebalance (and copies for
	// resilver); 0 means no cap: disks and network set the pace.
	Bandwidth int64 `json:"bandwidth,omitempty"`
}

// DefaultClusterConfig is the configuration of a new cluster.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{
		NodeTimeout:       Duration(10 * time.Second),
		HeartbeatInterval: Duration(2 * time.Second),
		LeaseTTL:          Duration(30 * time.Second),
		RedirectTTL:       Duration(5 * time.Minute),
	}
}

// Validate checks the values.
func (c *ClusterConfig) Validate() error {
	if c.HeartbeatInterval <= 0 || c.NodeTimeout <= 0 || c.LeaseTTL <= 0 || c.RedirectTTL <= 0 {
		return fmt.Errorf("%w: durations must be positive", ErrInvalidConfig)
	}
	if c.NodeTimeout < 2*c.HeartbeatInterval {
		return fmt.Errorf("%w: node_timeout (%s) must be at least twice heartbeat_interval (%s)",
			ErrInvalidConfig, c.NodeTimeout, c.HeartbeatInterval)
	}
	if c.Rebalance.Bandwidth < 0 {
		return fmt.Errorf("%w: rebalance.bandwidth must not be negative", ErrInvalidConfig)
	}
	return nil
}

// Patch applies a JSON merge document to c and validates the result.
func (c ClusterConfig) Patch(doc []byte) (ClusterConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrInvalidConfig, strings.TrimPrefix(err.Error(), "json: "))
	}
	return c, c.Validate()
}

// Duration is a time.Duration that reads and writes JSON as "10s".
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"10s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
