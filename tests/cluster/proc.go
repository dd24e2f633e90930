package cluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is one daemon process. Start may be called again after Kill or Stop: it restarts the
// process with the same arguments, appending to the same log.
type Proc struct {
	Name    string
	Bin     string
	Args    []string
	LogPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts (or restarts) the process.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.Name)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s %v\n", time.Now().Format(time.RFC3339Nano), p.Bin, p.Args)
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// Running reports whether the process was started and has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Pid returns the process ID, or 0.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Signal sends sig to the running process.
func (p *Proc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() { p.stop(syscall.SIGKILL, 0) }

// Stop sends SIGTERM, waits up to 15 s, then SIGKILLs.
func (p *Proc) Stop() { p.stop(syscall.SIGTERM, 15*time.Second) }

func (p *Proc) stop(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot handle SIGTERM
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 reserved for this test process.
//
// Ports come from below the kernel's ephemeral range (which starts at 32768 by
// default), so an outgoing connection or a ":0" listener elsewhere can never be
// handed one of them between our check and the daemon's bind. Each port is
// claimed with an exclusive flock on a file under the system temp directory,
// held until the test process exits, so test binaries running in parallel never
// share a port either.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	dir := filepath.Join(os.TempDir(), "ais-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 20*portSpan {
			t.Fatalf("no free test port left in %d-%d", portLow, portLow+portSpan-1)
		}
		port := portLow + portNext%portSpan
		portNext++
		if portHeld[port] {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // another test process holds it
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			f.Close() // in use by something that is not a test
			continue
		}
		l.Close()
		portHeld[port] = true
		portLocks = append(portLocks, f) // kept open: the lock lives as long as the process
		ports = append(ports, port)
	}
	return ports
}

const (
	portLow  = 20000
	portSpan = 12000 // 20000-31999, below the default ephemeral range
)

var (
	portMu    sync.Mutex
	portNext  = os.Getpid() * 97 // different processes start at different places
	portHeld  = map[int]bool{}
	portLocks []*os.File
)
