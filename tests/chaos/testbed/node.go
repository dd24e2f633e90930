package testbed

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/netns"
)

// Role is what a node runs.
type Role string

// Roles.
const (
	RoleMeta    Role = "meta"
	RoleTarget  Role = "target"
	RoleGateway Role = "gateway"
)

// Node is one daemon in its namespace. Start may be called again after Kill or Stop: the
// daemon restarts with the same arguments and data, appending to the same log.
type Node struct {
	Name    string
	Role    Role
	IP      string
	URL     string // meta: HTTP API; target: public listener; gateway: API
	Bin     string
	Args    []string
	LogPath string
	// Mountpaths of a target.
	Mountpaths []string

	net *netns.Net

	mu     sync.Mutex // guards the following
	cmd    *process
	paused bool
}

type process struct {
	pid  int
	proc *os.Process
	done chan struct{}
}

// Start starts (or restarts) the daemon.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		select {
		case <-n.cmd.done:
		default:
			return fmt.Errorf("%s already running", n.Name)
		}
	}
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s %v\n", time.Now().Format(time.RFC3339Nano), n.Bin, n.Args)
	cmd, err := n.net.Command(n.Name, n.Bin, n.Args...)
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(logf, "=== %s exit %v\n", time.Now().Format(time.RFC3339Nano), cmd.ProcessState)
		logf.Close()
		close(done)
	}()
	n.cmd = &process{pid: cmd.Process.Pid, proc: cmd.Process, done: done}
	n.paused = false
	return nil
}

// Running reports whether the daemon was started and has not exited (paused counts as
// running).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.cmd.done:
		return false
	default:
		return true
	}
}

// Paused reports whether the daemon is stopped with SIGSTOP.
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused
}

// Pid is the daemon's process ID, or 0.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.pid
}

// Pause sends SIGSTOP.
func (n *Node) Pause() error { return n.signal(syscall.SIGSTOP, true) }

// Resume sends SIGCONT.
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT, false) }

func (n *Node) signal(sig syscall.Signal, paused bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return fmt.Errorf("%s not running", n.Name)
	}
	if err := n.cmd.proc.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", n.Name, err)
	}
	n.paused = paused
	return nil
}

// Kill sends SIGKILL and waits for the daemon to exit.
func (n *Node) Kill() { n.stop(syscall.SIGKILL, 0) }

// Stop sends SIGTERM, waits up to 10 s, then SIGKILLs.
func (n *Node) Stop() { n.stop(syscall.SIGTERM, 10*time.Second) }

func (n *Node) stop(sig syscall.Signal, grace time.Duration) {
	n.mu.Lock()
	c := n.cmd
	n.paused = false
	n.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.proc.Signal(syscall.SIGCONT) // a stopped process cannot handle SIGTERM
	_ = c.proc.Signal(sig)
	if grace > 0 {
		select {
		case <-c.done:
			return
		case <-time.After(grace):
			_ = c.proc.Kill()
		}
	}
	<-c.done
}
