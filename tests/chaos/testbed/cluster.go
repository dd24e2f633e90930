package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/tests/chaos/netns"
)

// Spec is the shape of a cluster.
type Spec struct {
	Meta       int // ais-meta members (default 3)
	Targets    int
	Gateways   int
	Mountpaths int // per target (default 2)
	// TmpfsMiB, if > 0, makes each target's first mountpath a tmpfs of that many MiB, so a
	// nemesis can fill the disk.
	TmpfsMiB int
	// ClusterConfig is a JSON merge document applied to the cluster config at start
	// (node_timeout, heartbeat_interval, lease_ttl...).
	ClusterConfig string
	// MetaArgs, TargetArgs and GatewayArgs are appended to every daemon of that kind.
	MetaArgs, TargetArgs, GatewayArgs []string
}

// Ports every node listens on (each node has its own address).
const (
	metaHTTPPort = 7080
	metaRaftPort = 7000
	publicPort   = 9080
	controlPort  = 9081
	dataPort     = 9082
	gatewayPort  = 8080
)

// Cluster is the running set of daemons and their network.
type Cluster struct {
	Spec     Spec
	Dir      string
	Bin      string
	Net      *netns.Net
	Meta     []*Node
	Targets  []*Node
	Gateways []*Node
	// MetaClient reaches every meta member from the root namespace.
	MetaClient *api.MetaClient
	mounts     []string
	closeOnce  sync.Once
}

// Start creates the network, starts the meta quorum, then targets and gateways, and waits
// until the cluster is healthy. dir holds data and logs (logs in dir/logs). bin holds the
// binaries. On error everything started is stopped again.
func Start(ctx context.Context, spec Spec, dir, bin string) (c *Cluster, err error) {
	if spec.Meta == 0 {
		spec.Meta = 3
	}
	if spec.Mountpaths == 0 {
		spec.Mountpaths = 2
	}
	n, err := netns.New(netns.DefaultConfig()) // also takes the machine-wide lock
	if err != nil {
		return nil, err
	}
	unmountStale()
	c = &Cluster{Spec: spec, Dir: dir, Bin: bin, Net: n}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	var peers, metaURLs []string
	for i := 0; i < spec.Meta; i++ {
		nd, err := c.add(fmt.Sprintf("m%d", i), RoleMeta, 11+i)
		if err != nil {
			return nil, err
		}
		peers = append(peers, fmt.Sprintf("%s=%s:%d@%s:%d", nd.Name, nd.IP, metaRaftPort, nd.IP, metaHTTPPort))
		nd.URL = fmt.Sprintf("http://%s:%d", nd.IP, metaHTTPPort)
		metaURLs = append(metaURLs, nd.URL)
	}
	for _, nd := range c.Meta {
		nd.Args = append([]string{"--id", nd.Name, "--dir", filepath.Join(dir, nd.Name),
			"--peers", strings.Join(peers, ","),
			"--http", fmt.Sprintf("%s:%d", nd.IP, metaHTTPPort),
			"--raft", fmt.Sprintf("%s:%d", nd.IP, metaRaftPort)}, spec.MetaArgs...)
	}
	if c.MetaClient, err = api.NewMetaClient(metaURLs, nil); err != nil {
		return nil, err
	}
	for i := 0; i < spec.Targets; i++ {
		nd, err := c.add(fmt.Sprintf("t%d", i), RoleTarget, 21+i)
		if err != nil {
			return nil, err
		}
		nd.URL = fmt.Sprintf("http://%s:%d", nd.IP, publicPort)
		nd.Args = []string{"--id", nd.Name, "--meta", strings.Join(metaURLs, ","),
			"--public", fmt.Sprintf("%s:%d", nd.IP, publicPort),
			"--control", fmt.Sprintf("%s:%d", nd.IP, controlPort),
			"--data", fmt.Sprintf("%s:%d", nd.IP, dataPort)}
		for j := 0; j < spec.Mountpaths; j++ {
			mp := filepath.Join(dir, nd.Name, fmt.Sprintf("mp%d", j))
			if err := os.MkdirAll(mp, 0o755); err != nil {
				return nil, err
			}
			if j == 0 && spec.TmpfsMiB > 0 {
				if err := c.mountTmpfs(mp, spec.TmpfsMiB); err != nil {
					return nil, err
				}
			}
			nd.Mountpaths = append(nd.Mountpaths, mp)
			nd.Args = append(nd.Args, "--mountpath", mp)
		}
		nd.Args = append(nd.Args, spec.TargetArgs...)
	}
	for i := 0; i < spec.Gateways; i++ {
		nd, err := c.add(fmt.Sprintf("g%d", i), RoleGateway, 51+i)
		if err != nil {
			return nil, err
		}
		nd.URL = fmt.Sprintf("http://%s:%d", nd.IP, gatewayPort)
		nd.Args = append([]string{"--id", nd.Name, "--meta", strings.Join(metaURLs, ","),
			"--listen", fmt.Sprintf("%s:%d", nd.IP, gatewayPort)}, spec.GatewayArgs...)
	}

	for _, nd := range c.Meta {
		if err := nd.Start(); err != nil {
			return nil, err
		}
	}
	if _, err := c.MetaLeader(ctx); err != nil {
		return nil, fmt.Errorf("meta quorum did not elect a leader: %w", err)
	}
	if spec.ClusterConfig != "" {
		if err := c.patchConfig(ctx, spec.ClusterConfig); err != nil {
			return nil, err
		}
	}
	for _, nd := range append(append([]*Node{}, c.Targets...), c.Gateways...) {
		if err := nd.Start(); err != nil {
			return nil, err
		}
	}
	for {
		err := c.Healthy(ctx)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster not healthy: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) add(name string, role Role, host int) (*Node, error) {
	nn, err := c.Net.Add(name, host)
	if err != nil {
		return nil, err
	}
	bin := map[Role]string{RoleMeta: "ais-meta", RoleTarget: "ais-target", RoleGateway: "ais-gw"}[role]
	nd := &Node{Name: name, Role: role, IP: nn.IP, Bin: filepath.Join(c.Bin, bin),
		LogPath: filepath.Join(c.Dir, "logs", name+".log"), net: c.Net}
	switch role {
	case RoleMeta:
		c.Meta = append(c.Meta, nd)
	case RoleTarget:
		c.Targets = append(c.Targets, nd)
	case RoleGateway:
		c.Gateways = append(c.Gateways, nd)
	}
	return nd, nil
}

// Nodes returns every node: meta members, targets, gateways.
func (c *Cluster) Nodes() []*Node {
	var out []*Node
	out = append(out, c.Meta...)
	out = append(out, c.Targets...)
	return append(out, c.Gateways...)
}

// Node returns a node by name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes() {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// GatewayURLs are the gateways' API URLs.
func (c *Cluster) GatewayURLs() []string {
	var out []string
	for _, g := range c.Gateways {
		out = append(out, g.URL)
	}
	return out
}

// Close stops every daemon (SIGTERM, then SIGKILL), unmounts tmpfs mountpaths and removes
// the network. The directory stays. Calling it again does nothing.
func (c *Cluster) Close() { c.closeOnce.Do(c.close) }

func (c *Cluster) close() {
	for _, n := range c.Gateways {
		n.Kill()
	}
	for _, n := range c.Targets {
		n.Kill()
	}
	for _, n := range c.Meta {
		n.Stop()
	}
	for _, m := range c.mounts {
		_ = exec.Command("umount", "-l", m).Run()
	}
	if c.Net != nil {
		_ = c.Net.Close()
	}
}

func (c *Cluster) mountTmpfs(dir string, mib int) error {
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "aisc-tmpfs", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount tmpfs on %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	c.mounts = append(c.mounts, dir)
	return nil
}

// unmountStale unmounts the tmpfs mountpaths an earlier, crashed run left behind (they carry
// the source name aisc-tmpfs; runs are serialized by the network's lock).
func unmountStale() {
	raw, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "aisc-tmpfs" {
			_ = exec.Command("umount", "-l", f[1]).Run()
		}
	}
}

// patchConfig applies a JSON merge document to the cluster config (PATCH /v1/meta/config).
func (c *Cluster) patchConfig(ctx context.Context, doc string) error {
	var last error
	for _, m := range c.Meta {
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, m.URL+"/v1/meta/config", strings.NewReader(doc))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("PATCH /v1/meta/config: %s: %s", resp.Status, body)
		if resp.StatusCode < 500 {
			return last
		}
	}
	return errors.Join(errors.New("cannot set the cluster config"), last)
}
