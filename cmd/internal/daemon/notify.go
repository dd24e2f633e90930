package daemon

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Notifier tells the service manager about the daemon's state (systemd's sd_notify protocol:
// datagrams such as "READY=1" on the unix socket named by $NOTIFY_SOCKET). A Notifier without
// a socket does nothing, so daemons run the same outside systemd.
type Notifier struct {
	addr string // socket path; a leading '@' is an abstract socket
}

// NewNotifier returns a notifier on socket ($NOTIFY_SOCKET); "" gives one that does nothing.
func NewNotifier(socket string) *Notifier { return &Notifier{addr: socket} }

// Enabled reports whether a service manager listens.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != "" }

// Notify sends one or more "KEY=VALUE" lines.
func (n *Notifier) Notify(lines ...string) error {
	if !n.Enabled() {
		return nil
	}
	name := n.addr
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// WatchdogInterval reads $WATCHDOG_USEC and $WATCHDOG_PID (pass their values): the watchdog
// period if the service manager keeps one for this process, else 0.
func WatchdogInterval(usec, pid string, self int) time.Duration {
	if usec == "" {
		return 0
	}
	if pid != "" && pid != strconv.Itoa(self) {
		return 0
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Microsecond
}
