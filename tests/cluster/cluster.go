package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Spec is the shape of a test cluster.
type Spec struct {
	Meta       int // ais-meta members (default 3)
	Targets    int
	Mountpaths int // per target (default 2)
	Gateways   int
	// Proxy starts gateways with --proxy.
	Proxy bool
	// MetaArgs, TargetArgs and GatewayArgs are appended to every process of that kind.
	MetaArgs, TargetArgs, GatewayArgs []string
	// MountpathSetup, if set, is called with each new target's mountpath directory once it
	// exists and before the target starts: a test mounts a file system there (LoopDisk).
	MountpathSetup func(target string, index int, dir string)
}

// Cluster is a running set of processes. Everything is stopped when the test ends; the
// directory (data and logs) is removed only if the test passed.
type Cluster struct {
	Spec     Spec
	Dir      string
	Bin      string
	Meta     []*Proc
	MetaURLs []string
	Targets  []*Proc
	// TargetMountpaths[i] are the mountpath directories of Targets[i].
	TargetMountpaths [][]string
	Gateways         []*Proc
	GatewayURLs      []string
	MetaClient       *api.MetaClient
}

// Start builds the binaries, starts the cluster and waits until it is ready: a meta leader is
// elected, every target is active in the published epoch, every gateway answers its health
// check.
func Start(t testing.TB, spec Spec) *Cluster {
	t.Helper()
	if spec.Meta == 0 {
		spec.Meta = 3
	}
	if spec.Mountpaths == 0 {
		spec.Mountpaths = 2
	}
	dir, err := os.MkdirTemp("", "ais-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Spec: spec, Dir: dir, Bin: Binaries(t)}
	t.Cleanup(func() { c.cleanup(t) })

	ports := FreePorts(t, 2*spec.Meta)
	var peers []string
	for i := 0; i < spec.Meta; i++ {
		http, raft := fmt.Sprintf("127.0.0.1:%d", ports[2*i]), fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
		peers = append(peers, fmt.Sprintf("m%d=%s@%s", i, raft, http))
		c.MetaURLs = append(c.MetaURLs, "http://"+http)
	}
	for i := 0; i < spec.Meta; i++ {
		id := fmt.Sprintf("m%d", i)
		args := []string{"--id", id, "--dir", filepath.Join(dir, id),
			"--http", strings.TrimPrefix(c.MetaURLs[i], "http://"),
			"--raft", strings.Split(strings.Split(peers[i], "=")[1], "@")[0],
			"--peers", strings.Join(peers, ",")}
		c.Meta = append(c.Meta, c.newProc(id, "ais-meta", append(args, spec.MetaArgs...)))
	}
	c.MetaClient, err = api.NewMetaClient(c.MetaURLs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Meta {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.MetaLeader(ctx); err != nil {
		t.Fatalf("meta quorum did not elect a leader: %v", err)
	}
	for i := 0; i < spec.Targets; i++ {
		c.AddTarget(t)
	}
	for i := 0; i < spec.Gateways; i++ {
		c.AddGateway(t)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *Cluster) newProc(name, bin string, args []string) *Proc {
	return &Proc{Name: name, Bin: filepath.Join(c.Bin, bin), Args: args,
		LogPath: filepath.Join(c.Dir, name+".log")}
}

// AddTarget starts one more target with Spec.Mountpaths fresh mountpaths.
func (c *Cluster) AddTarget(t testing.TB) *Proc {
	t.Helper()
	i := len(c.Targets)
	id := fmt.Sprintf("t%d", i)
	ports := FreePorts(t, 3)
	args := []string{"--id", id, "--meta", strings.Join(c.MetaURLs, ","),
		"--public", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--control", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--data", fmt.Sprintf("127.0.0.1:%d", ports[2])}
	var mps []string
	for j := 0; j < c.Spec.Mountpaths; j++ {
		mp := filepath.Join(c.Dir, id, fmt.Sprintf("mp%d", j))
		if err := os.MkdirAll(mp, 0o755); err != nil {
			t.Fatal(err)
		}
		if c.Spec.MountpathSetup != nil {
			c.Spec.MountpathSetup(id, j, mp)
		}
		mps = append(mps, mp)
		args = append(args, "--mountpath", mp)
	}
	p := c.newProc(id, "ais-target", append(args, c.Spec.TargetArgs...))
	c.Targets = append(c.Targets, p)
	c.TargetMountpaths = append(c.TargetMountpaths, mps)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// AddGateway starts one more gateway.
func (c *Cluster) AddGateway(t testing.TB) *Proc {
	t.Helper()
	id := fmt.Sprintf("g%d", len(c.Gateways))
	listen := fmt.Sprintf("127.0.0.1:%d", FreePorts(t, 1)[0])
	args := []string{"--id", id, "--meta", strings.Join(c.MetaURLs, ","), "--listen", listen}
	if c.Spec.Proxy {
		args = append(args, "--proxy")
	}
	p := c.newProc(id, "ais-gw", append(args, c.Spec.GatewayArgs...))
	c.Gateways = append(c.Gateways, p)
	c.GatewayURLs = append(c.GatewayURLs, "http://"+listen)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// MetaLeader returns the index into c.Meta of the member that every running member names as
// leader, waiting until there is one.
func (c *Cluster) MetaLeader(ctx context.Context) (int, error) {
	for {
		leader := ""
		agree := true
		for i, p := range c.Meta {
			if !p.Running() {
				continue
			}
			mc, _ := api.NewMetaClient(c.MetaURLs[i:i+1], nil)
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			ci, err := mc.Cluster(qctx)
			cancel()
			if err != nil || ci.Leader == "" || (leader != "" && ci.Leader != leader) {
				agree = false
				break
			}
			leader = ci.Leader
		}
		if agree && leader != "" {
			for i, p := range c.Meta {
				if p.Name == leader && p.Running() {
					return i, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no agreed meta leader: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitReady waits until every running target is active in the latest epoch and every running
// gateway answers /v1/health.
func (c *Cluster) WaitReady(ctx context.Context) error {
	for {
		err := c.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	snap, err := c.MetaClient.Snapshot(qctx)
	if err != nil {
		return err
	}
	for _, p := range c.Targets {
		if !p.Running() {
			continue
		}
		n, ok := snap.Nodes[p.Name]
		if !ok || n.State != meta.NodeActive {
			return fmt.Errorf("target %s not active at epoch %d", p.Name, snap.Epoch)
		}
		if err := healthy(qctx, n.PublicURL); err != nil {
			return fmt.Errorf("target %s: %w", p.Name, err)
		}
	}
	for i, p := range c.Gateways {
		if !p.Running() {
			continue
		}
		if err := healthy(qctx, c.GatewayURLs[i]); err != nil {
			return fmt.Errorf("gateway %s: %w", p.Name, err)
		}
	}
	return nil
}

// healthy asks base/v1/health, which every daemon serves.
func healthy(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	return nil
}

func (c *Cluster) all() []*Proc {
	var ps []*Proc
	ps = append(ps, c.Gateways...)
	ps = append(ps, c.Targets...)
	return append(ps, c.Meta...)
}

func (c *Cluster) cleanup(t testing.TB) {
	for _, p := range c.all() {
		p.Stop()
	}
	if t.Failed() || os.Getenv("AIS_KEEP") != "" {
		t.Logf("cluster directory kept: %s", c.Dir)
		for _, p := range c.all() {
			t.Logf("--- last lines of %s:\n%s", p.LogPath, tail(p.LogPath, 25))
		}
		return
	}
	_ = os.RemoveAll(c.Dir)
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
