package netns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnavailable says the machine cannot run namespaced tests (not root, no ip or nft).
var ErrUnavailable = errors.New("netns: network namespaces unavailable")

// Config names the bridge, the namespaces and the addresses.
type Config struct {
	// Prefix starts the name of every namespace and host-side link ("aisc-t0"); everything
	// with it is removed at start as left over from an earlier run.
	Prefix string
	// Bridge is the bridge in the root namespace that joins the nodes.
	Bridge string
	// Subnet is the first three octets of the private /24 the nodes live in; the root
	// namespace (the test's clients) is .1 on the bridge.
	Subnet string
	// LockPath serializes runs on one machine.
	LockPath string
}

// DefaultConfig is the layout the chaos tests use: 10.77.0.0/24 on bridge aisc-br.
func DefaultConfig() Config {
	return Config{Prefix: "aisc", Bridge: "aisc-br", Subnet: "10.77.0", LockPath: "/run/aisc-chaos.lock"}
}

// Node is one namespace with one address.
type Node struct {
	Name string // e.g. "t0"
	NS   string // namespace name
	IP   string
	link string // host side of the veth pair
}

// Net is the bridge and the namespaces of one run.
type Net struct {
	cfg  Config
	lock *os.File

	mu    sync.Mutex // guards the following
	nodes map[string]*Node
}

// Check reports whether namespaced tests can run here (root, ip and nft present).
func Check() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root (run as root, e.g. sudo make chaos)", ErrUnavailable)
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not installed (apt-get install iproute2 nftables)", ErrUnavailable, tool)
		}
	}
	return nil
}

// New takes the machine-wide lock, removes whatever an earlier run left behind, and creates
// the bridge with the root namespace's address.
func New(cfg Config) (*Net, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	lock, err := acquire(cfg.LockPath, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	n := &Net{cfg: cfg, lock: lock, nodes: map[string]*Node{}}
	if err := Cleanup(cfg); err != nil {
		n.release()
		return nil, err
	}
	steps := [][]string{
		{"link", "add", cfg.Bridge, "type", "bridge"},
		{"addr", "add", cfg.Subnet + ".1/24", "dev", cfg.Bridge},
		{"link", "set", cfg.Bridge, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			_ = n.Close()
			return nil, err
		}
	}
	return n, nil
}

// HostIP is the root namespace's address on the bridge (where the test's clients are).
func (n *Net) HostIP() string { return n.cfg.Subnet + ".1" }

// Add creates node name's namespace with address Subnet.host, wired to the bridge, with
// loopback up and an empty fault table.
func (n *Net) Add(name string, host int) (*Node, error) {
	if host < 2 || host > 254 {
		return nil, fmt.Errorf("netns: host number %d out of 2..254", host)
	}
	nd := &Node{Name: name, NS: n.cfg.Prefix + "-" + name, IP: fmt.Sprintf("%s.%d", n.cfg.Subnet, host),
		link: n.cfg.Prefix + "-" + name}
	if len(nd.link) > 15 {
		return nil, fmt.Errorf("netns: link name %q longer than 15 bytes", nd.link)
	}
	n.mu.Lock()
	if _, dup := n.nodes[name]; dup {
		n.mu.Unlock()
		return nil, fmt.Errorf("netns: node %s exists", name)
	}
	n.nodes[name] = nd
	n.mu.Unlock()
	steps := [][]string{
		{"netns", "add", nd.NS},
		{"link", "add", nd.link, "type", "veth", "peer", "name", "eth0", "netns", nd.NS},
		{"link", "set", nd.link, "master", n.cfg.Bridge, "up"},
		{"-n", nd.NS, "addr", "add", nd.IP + "/24", "dev", "eth0"},
		{"-n", nd.NS, "link", "set", "eth0", "up"},
		{"-n", nd.NS, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, err
		}
	}
	if err := n.nft(nd, faultTable); err != nil {
		return nil, err
	}
	return nd, nil
}

// Node returns a node by name.
func (n *Net) Node(name string) *Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[name]
}

// Nodes returns the node names, sorted.
func (n *Net) Nodes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.nodes))
	for k := range n.nodes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Command returns a command that runs bin with args inside node's namespace. ip execs the
// binary in place, so the command's process is the binary itself (signals reach it).
func (n *Net) Command(node, bin string, args ...string) (*exec.Cmd, error) {
	nd := n.Node(node)
	if nd == nil {
		return nil, fmt.Errorf("netns: no node %s", node)
	}
	return exec.Command("ip", append([]string{"netns", "exec", nd.NS, bin}, args...)...), nil
}

// Close removes the namespaces, their links and the bridge, and releases the lock.
func (n *Net) Close() error {
	err := Cleanup(n.cfg)
	n.release()
	return err
}

func (n *Net) release() {
	if n.lock != nil {
		_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
		_ = n.lock.Close()
		n.lock = nil
	}
}

// Cleanup removes every namespace and link whose name starts with cfg.Prefix, and the bridge,
// stopping processes still running inside those namespaces (daemons of a crashed run).
func Cleanup(cfg Config) error {
	var errs []error
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("netns: ip netns list: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], cfg.Prefix+"-") {
			continue
		}
		ns := f[0]
		if pids, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, p := range strings.Fields(string(pids)) {
				var pid int
				if _, err := fmt.Sscan(p, &pid); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if err := ip("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return fmt.Errorf("netns: ip link show: %w", err)
	}
	for _, line := range strings.Split(string(links), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, cfg.Prefix+"-") || name == cfg.Bridge {
			// A veth end goes away with its namespace, maybe while we look.
			if err := ip("link", "del", name); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// acquire takes an exclusive lock on path, waiting up to wait for another run to finish.
func acquire(path string, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("netns: lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("netns: another chaos run holds %s: %w", path, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
