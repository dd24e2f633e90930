package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// RebalancePoint is the rebalance throughput measured after a target joined a loaded cluster.
type RebalancePoint struct {
	TargetsBefore int     `json:"targets_before"`
	TargetsAfter  int     `json:"targets_after"`
	Size          int64   `json:"size"`        // object size of the data
	Objects       int64   `json:"objects"`     // objects moved
	Bytes         int64   `json:"bytes"`       // bytes moved (received by their new owners)
	Seconds       float64 `json:"seconds"`     // first job start to the last byte received (sampled every 100 ms)
	JobSeconds    float64 `json:"job_seconds"` // first job start to last job end (includes the grace before sources drop their copies)
	Jobs          int     `json:"jobs"`        // rebalance jobs that ran (coalesced epochs make one)
	MiBPerSec     float64 `json:"mib_per_sec"`
	PerSender     float64 `json:"per_sender_mib_per_sec"`   // what each sending target sent, on average
	PerReceiver   float64 `json:"per_receiver_mib_per_sec"` // what each receiving target wrote, on average
	Errors        int64   `json:"errors"`
	Fsync         bool    `json:"fsync"`
	Load          string  `json:"load_before,omitempty"`
}

// RebalanceCmd measures a rebalance: it waits for the rebalance jobs that started after
// --since (make bench starts a target after filling the cluster), then reports what they moved
// and how fast.
type RebalanceCmd struct {
	Endpoint string        `short:"e" env:"AIS_ENDPOINT" default:"http://127.0.0.1:8080" placeholder:"URL" help:"Gateway of the cluster."`
	Since    int64         `required:"" placeholder:"UNIX_NANOS" help:"Count the rebalance jobs that started after this time (date +%s%N before the new target started)."`
	Before   int           `required:"" help:"Active targets before the change."`
	After    int           `required:"" help:"Active targets after it (wait for them)."`
	Size     byteSize      `default:"1MiB" help:"Object size of the data (for the report)."`
	Fsync    bool          `help:"The bucket fsyncs every object (for the report)."`
	Timeout  time.Duration `default:"10m" help:"Give up after this long."`
	Out      string        `required:"" placeholder:"FILE" help:"Where to write the result (JSON)."`
}

func (c *RebalanceCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cl, err := api.NewClient(c.Endpoint, benchHTTPClient(4))
	if err != nil {
		return err
	}
	pt := &RebalancePoint{TargetsBefore: c.Before, TargetsAfter: c.After, Size: int64(c.Size), Fsync: c.Fsync, Load: loadAverage()}
	var moved int64
	var lastGrow time.Time
	for {
		done, jobs, err := c.poll(ctx, cl)
		if err != nil {
			return err
		}
		var got int64
		for _, j := range jobs {
			got += j.Counters.ReceivedBytes
		}
		if got > moved {
			moved, lastGrow = got, time.Now()
		}
		if done {
			pt.summarize(jobs, lastGrow)
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the rebalance after %d -> %d targets did not finish: %w", c.Before, c.After, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(os.Stderr, "rebalance %d -> %d targets: %d objects, %s in %.1f s: %s MiB/s (%s per sender, %s per receiver), %d errors\n",
		pt.TargetsBefore, pt.TargetsAfter, pt.Objects, formatSize(pt.Bytes), pt.Seconds, fmtRate(pt.MiBPerSec),
		fmtRate(pt.PerSender), fmtRate(pt.PerReceiver), pt.Errors)
	return writeJSON(c.Out, pt)
}

// poll returns the rebalance jobs that started after Since, and whether the cluster has
// After active targets, every such job has ended and the gateway reports the rebalance done.
func (c *RebalanceCmd) poll(ctx context.Context, cl *api.Client) (bool, []api.Job, error) {
	ci, err := cl.Cluster(ctx)
	if err != nil {
		return false, nil, err
	}
	active := 0
	for _, n := range ci.Nodes {
		if n.Role == meta.RoleTarget && n.State == meta.NodeActive {
			active++
		}
	}
	all, err := cl.ListJobs(ctx, meta.JobRebalance)
	if err != nil {
		return false, nil, err
	}
	var jobs []api.Job
	ended := true
	for _, j := range all {
		if j.Start < c.Since {
			continue
		}
		jobs = append(jobs, j)
		if !j.State.Done() {
			ended = false
		}
	}
	if active < c.After || len(jobs) == 0 || !ended {
		return false, jobs, nil
	}
	ri, err := cl.Rebalance(ctx)
	if err != nil {
		return false, nil, err
	}
	return ri.Done, jobs, nil
}

func (pt *RebalancePoint) summarize(jobs []api.Job, lastGrow time.Time) {
	var first, last int64
	senders, receivers := map[string]bool{}, map[string]bool{}
	for _, j := range jobs {
		pt.Jobs++
		pt.Objects += j.Counters.ReceivedObjects
		pt.Bytes += j.Counters.ReceivedBytes
		pt.Errors += j.Counters.Errors
		if first == 0 || j.Start < first {
			first = j.Start
		}
		last = max(last, j.End)
		for _, ts := range j.Targets {
			if ts.Counters.SentBytes > 0 {
				senders[ts.Node] = true
			}
			if ts.Counters.ReceivedBytes > 0 {
				receivers[ts.Node] = true
			}
		}
	}
	pt.JobSeconds = float64(last-first) / 1e9
	pt.Seconds = pt.JobSeconds
	if !lastGrow.IsZero() && lastGrow.UnixNano() > first {
		pt.Seconds = float64(lastGrow.UnixNano()-first) / 1e9
	}
	if pt.Seconds > 0 {
		pt.MiBPerSec = float64(pt.Bytes) / (1 << 20) / pt.Seconds
		pt.PerSender = pt.MiBPerSec / float64(max(len(senders), 1))
		pt.PerReceiver = pt.MiBPerSec / float64(max(len(receivers), 1))
	}
}

// rebalanceSection renders the rebalance point next to the disk's write speed of the matrix.
func rebalanceSection(pt *RebalancePoint, diskWrite func(size int64, fsync bool) (float64, bool)) string {
	var b []byte
	b = fmt.Appendf(b, "\n### Rebalance\n\n")
	b = fmt.Appendf(b, "A cluster of %d targets (one mountpath each, no cap) holds %s objects; a target joins and the rebalance moves about 1/%d of them to it. Throughput is what the new owners received, from the first job's start to the last byte received (the job ends later: sources keep each copy for a grace period after the receiver confirmed it, 3 s by default, before removing it); the disk column is the disk ceiling of the matrix above (same file system, same object size, %s), which bounds what one receiving target can write.\n\n",
		pt.TargetsBefore, formatSize(pt.Size), pt.TargetsAfter, map[bool]string{true: "fsync per object, as the bucket", false: "no fsync, as the bucket"}[pt.Fsync])
	b = fmt.Appendf(b, "| targets | objects moved | bytes moved | seconds moving | job seconds | jobs | MiB/s | per sending target | per receiving target | disk write | receiver / disk | errors |\n")
	b = fmt.Appendf(b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	disk, ratio := "", ""
	if d, ok := diskWrite(pt.Size, pt.Fsync); ok && d > 0 {
		disk = fmtRate(d) + " MiB/s"
		ratio = fmt.Sprintf("%.2f", pt.PerReceiver/d)
	}
	b = fmt.Appendf(b, "| %d → %d | %d | %s | %.1f | %.1f | %d | %s | %s | %s | %s | %s | %d |\n", pt.TargetsBefore, pt.TargetsAfter,
		pt.Objects, formatSize(pt.Bytes), pt.Seconds, pt.JobSeconds, pt.Jobs, fmtRate(pt.MiBPerSec), fmtRate(pt.PerSender),
		fmtRate(pt.PerReceiver), orDash(disk), orDash(ratio), pt.Errors)
	return string(b)
}
