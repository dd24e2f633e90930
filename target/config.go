package target

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Clock is the time source for everything that decides on time: heartbeats, signature expiry,
// object mtimes. Tests substitute their own.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a target.
type Config struct {
	// ID is the node ID. Empty: reuse the one kept in <mountpath>/.ais/sys/node-id, or
	// generate and keep one.
	ID string
	// MetaURLs are the HTTP URLs of the meta members (any subset will do).
	MetaURLs []string
	// PublicAddr, ControlAddr and DataAddr are the HOST:PORT of the three listeners. Port 0
	// picks a free port; the address actually bound is what the target registers.
	PublicAddr  string
	ControlAddr string
	DataAddr    string
	// Mountpaths are the directories (one per disk) that hold objects: absolute, clean,
	// distinct and not nested in each other.
	Mountpaths []string
	// EpochWait bounds how long a request from a newer epoch waits for this target to learn
	// it before it is answered 503.
	EpochWait time.Duration
	// HeartbeatInterval is used until the first epoch brings the cluster's
	// config.heartbeat_interval.
	HeartbeatInterval time.Duration
	// ShutdownTimeout bounds the graceful shutdown of the listeners, and before it the drain
	// (drain.go).
	ShutdownTimeout time.Duration
	// LeaveOnStop puts the target into maintenance when it is told to stop, so gateways send
	// new requests elsewhere while it drains; it sets itself active again when it is back.
	// Off, meta marks the silent target down after the node timeout.
	LeaveOnStop bool
	// MultipartExpiry is how long an S3 multipart upload may stay incomplete before its
	// parts are removed (0: the default, 7 days).
	MultipartExpiry time.Duration

	// Rebalance tunes rebalance and resilver (rebalance_config.go).
	Rebalance RebalanceConfig

	// MountpathProbe tunes the health probes that find a failed disk (mountpath_health.go).
	MountpathProbe MountpathProbeConfig

	// MountpathBandwidth, in bytes per second, caps the reads and writes of each mountpath
	// (0: no cap). It is a test mode that stands in for disks of a known speed, to measure how
	// throughput scales with targets on one machine (NewThrottledFS, docs/performance.md).
	MountpathBandwidth int64

	// ClusterTCPCongestion is the TCP congestion control of the data listener's connections (gateways'
	// proxied requests, other targets' streams) and of this target's own connections to other
	// targets; "" keeps the system's default (api.DefaultClusterTCPCongestion).
	ClusterTCPCongestion string

	// PublicTCPCongestion is the TCP congestion control of the public listener's connections
	// (clients sent here by a gateway's redirect); "" keeps the system's default
	// (api.DefaultPublicTCPCongestion).
	PublicTCPCongestion string

	// Handoff serves the same-host hand-off (api/handoff.go): a gateway on this machine takes
	// the open files of the objects it proxies instead of their bytes over TCP.
	Handoff bool

	// Clock, FS and HTTPClient default to the real ones when nil.
	Clock      Clock
	FS         FS
	HTTPClient *http.Client
}

// DefaultConfig returns a configuration with every default set; the caller fills in the
// addresses, meta URLs and mountpaths.
func DefaultConfig() Config {
	return Config{
		EpochWait:            5 * time.Second,
		HeartbeatInterval:    2 * time.Second,
		ShutdownTimeout:      5 * time.Second,
		LeaveOnStop:          true,
		MultipartExpiry:      7 * 24 * time.Hour,
		Rebalance:            DefaultRebalanceConfig(),
		MountpathProbe:       MountpathProbeConfig{Interval: 30 * time.Second, Timeout: 10 * time.Second},
		ClusterTCPCongestion: api.DefaultClusterTCPCongestion,
		PublicTCPCongestion:  api.DefaultPublicTCPCongestion,
		Handoff:              true,
		Clock:                realClock{},
		FS:                   OSFS{},
	}
}

// Validate checks the configuration and says what to fix.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("target: config: "+format, args...)
	}
	if c.ID != "" {
		if err := meta.ValidateNodeID(c.ID); err != nil {
			return bad("%v", err)
		}
	}
	if len(c.MetaURLs) == 0 {
		return bad("at least one meta URL is required")
	}
	for name, addr := range map[string]string{"public": c.PublicAddr, "control": c.ControlAddr, "data": c.DataAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad("%s address %q: want HOST:PORT: %v", name, addr, err)
		}
	}
	if len(c.Mountpaths) == 0 {
		return bad("at least one mountpath is required")
	}
	for i, mp := range c.Mountpaths {
		if !filepath.IsAbs(mp) || filepath.Clean(mp) != mp || mp == "/" {
			return bad("mountpath %q must be an absolute, clean path below /", mp)
		}
		for _, other := range c.Mountpaths[:i] {
			if other == mp || strings.HasPrefix(mp, other+"/") || strings.HasPrefix(other, mp+"/") {
				return bad("mountpaths %q and %q overlap", other, mp)
			}
		}
	}
	if err := c.Rebalance.Validate(); err != nil {
		return err
	}
	if c.EpochWait <= 0 || c.HeartbeatInterval <= 0 || c.ShutdownTimeout <= 0 || c.MultipartExpiry < 0 {
		return bad("durations must be positive")
	}
	if c.MountpathProbe.Interval < 0 || c.MountpathProbe.Timeout <= 0 {
		return bad("mountpath probe: interval must not be negative and timeout must be positive")
	}
	if c.MountpathBandwidth < 0 {
		return bad("mountpath bandwidth must not be negative")
	}
	return nil
}

// MountpathProbeConfig tunes the health probes of the mountpaths (mountpath_health.go). An I/O
// error that says a disk may have failed always starts a probe; a probe that fails disables
// the mountpath.
type MountpathProbeConfig struct {
	// Interval between background probes of every mountpath in use; 0 turns them off.
	Interval time.Duration
	// Timeout bounds one probe: a disk that does not answer within it has failed (hung).
	Timeout time.Duration
}
