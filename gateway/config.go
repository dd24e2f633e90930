package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Config configures a gateway.
type Config struct {
	// ID is the gateway's node ID in the cluster map.
	ID string
	// MetaURLs are the HTTP URLs of the meta members (any subset works).
	MetaURLs []string
	// Listen is the public HOST:PORT. Ignored when Listener is set.
	Listen string
	// Listener, if set, is an already bound listener to serve on (tests use ":0").
	Listener net.Listener
	// PublicURL is the URL the gateway advertises to meta; empty means "http://" + the
	// listener's address.
	PublicURL string
	// Proxy streams object data through the gateway for every request instead of redirecting
	// clients to targets.
	Proxy bool
	// EpochWait bounds how long a request waits for this gateway to reach an epoch: after a
	// bucket change it made, or one a client or target named.
	EpochWait time.Duration
	// ShutdownTimeout bounds the graceful shutdown of the HTTP server.
	ShutdownTimeout time.Duration
	// DrainWait is how long a stopping gateway keeps serving with its health check failing
	// (so load balancers take it out) before it shuts the server down; 0 skips it.
	DrainWait time.Duration
	// ControlListen, if set, is the HOST:PORT of a control listener for operators: health,
	// /metrics and pprof (control.go).
	ControlListen string
	// MaxBodyBytes bounds the body of bucket control requests (props documents).
	MaxBodyBytes int64
	// Now is the clock that stamps the expiry of signed redirect URLs.
	Now func() time.Time
	// HTTPClient talks to meta and to the targets' control endpoints; nil means
	// api.NewHTTPClient().
	HTTPClient *http.Client
	// S3 configures the S3 API (s3_config.go).
	S3 S3Config
	// ClusterTCPCongestion is the TCP congestion control of the gateway's connections to the
	// targets' data listeners, which carry proxied requests; "" keeps the system's default
	// (api.DefaultClusterTCPCongestion).
	ClusterTCPCongestion string
	// PublicTCPCongestion is the TCP congestion control of the public listener's connections
	// (clients; they carry the objects of proxied GETs); "" keeps the system's default
	// (api.DefaultPublicTCPCongestion). Not applied to a Listener passed in.
	PublicTCPCongestion string
	// ProxyToPublic sends proxied requests to the targets' public listeners instead of their
	// data listeners (for gateways that cannot reach the targets' data network).
	ProxyToPublic bool
	// Handoff sends proxied GETs for targets on this machine over their same-host hand-off
	// socket (handoff.go): the gateway sends the object from the target's open file by
	// sendfile instead of receiving it over TCP.
	Handoff bool
}

// DefaultConfig returns a config that listens on 127.0.0.1:8080; ID and MetaURLs must be set.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		EpochWait:       10 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		MaxBodyBytes:    1 << 20,
		Now:             time.Now,
		S3:              DefaultS3Config(),

		ClusterTCPCongestion: api.DefaultClusterTCPCongestion,
		PublicTCPCongestion:  api.DefaultPublicTCPCongestion,
		Handoff:              true,
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if err := meta.ValidateNodeID(c.ID); err != nil {
		errs = append(errs, err)
	}
	if len(c.MetaURLs) == 0 {
		errs = append(errs, errors.New("at least one meta URL is required"))
	}
	for _, u := range c.MetaURLs {
		if _, err := url.Parse(u); err != nil || u == "" {
			errs = append(errs, fmt.Errorf("meta URL %q is not a URL", u))
		}
	}
	if c.Listener == nil {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen address %q: %v", c.Listen, err))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("public URL %q must be http://HOST:PORT or https://HOST:PORT", c.PublicURL))
		}
	}
	if c.ControlListen != "" {
		if _, _, err := net.SplitHostPort(c.ControlListen); err != nil {
			errs = append(errs, fmt.Errorf("control listen address %q: %v", c.ControlListen, err))
		}
	}
	if c.DrainWait < 0 {
		errs = append(errs, errors.New("drain wait must not be negative"))
	}
	if c.EpochWait <= 0 || c.ShutdownTimeout <= 0 || c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("epoch wait, shutdown timeout and max body bytes must be positive"))
	}
	if c.Now == nil {
		errs = append(errs, errors.New("a clock (Now) is required"))
	}
	if err := c.S3.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gateway: config: %w", err)
	}
	return nil
}
