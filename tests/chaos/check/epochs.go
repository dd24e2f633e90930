package check

import (
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Epochs checks the Ais-Epoch answers every client saw: from any one node, a client never
// sees the epoch go back (unless the node was restarted in between: a restarted node learns
// the epoch anew), and a target never answers a data request below the epoch the gateway
// signed into its URL.
func Epochs(events []history.Event, ops []history.Op) *Result {
	r := newResult("epoch monotonicity")
	restarts := map[string][]int64{} // host (IP) -> times of restarts
	for _, e := range history.NemesisEvents(events) {
		for _, h := range e.Restarted {
			restarts[h] = append(restarts[h], e.Time)
		}
	}
	restartedBetween := func(node string, a, b int64) bool {
		host, _, err := net.SplitHostPort(node)
		if err != nil {
			host = node
		}
		for _, t := range restarts[host] {
			if t >= a && t <= b {
				return true
			}
		}
		return false
	}
	byProcess := map[string][]history.EpochSeen{}
	for _, o := range ops {
		byProcess[o.Process] = append(byProcess[o.Process], o.Epochs...)
	}
	procs := make([]string, 0, len(byProcess))
	for p := range byProcess {
		procs = append(procs, p)
	}
	sort.Strings(procs)
	for _, p := range procs {
		seen := byProcess[p]
		sort.SliceStable(seen, func(i, j int) bool { return seen[i].Time < seen[j].Time })
		last := map[string]history.EpochSeen{}
		for _, s := range seen {
			r.Checked++
			if s.Signed > 0 && s.Status < 500 && s.Status != 403 && s.Epoch < s.Signed {
				r.addf("%s at %s: target %s answered %d at epoch %d, below the signed epoch %d",
					p, ms(s.Time), s.Node, s.Status, s.Epoch, s.Signed)
			}
			if prev, ok := last[s.Node]; ok && s.Epoch < prev.Epoch && !restartedBetween(s.Node, prev.Time, s.Time) {
				r.addf("%s: %s answered epoch %d at %s after %d at %s", p, s.Node, s.Epoch, ms(s.Time),
					prev.Epoch, ms(prev.Time))
			}
			last[s.Node] = s
		}
	}
	return r
}

// ms formats a history time.
func ms(t int64) string {
	if t == history.Never {
		return "never"
	}
	return fmt.Sprintf("%.3fs", time.Duration(t).Seconds())
}
