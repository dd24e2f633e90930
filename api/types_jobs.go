package api

import (
	"sort"

	"github.com/aisfoundry/ais/meta"
)

// JobRequest is the body of POST /v1/jobs on a gateway and of POST /v1/internal/jobs on a
// target's control listener.
type JobRequest struct {
	Kind string `json:"kind"`
	// ID is chosen by the gateway, so that every target names the job alike; clients leave
	// it empty.
	ID string `json:"id,omitempty"`
	// Node limits the job to one target ("" for all).
	Node string            `json:"node,omitempty"`
	Args map[string]string `json:"args,omitempty"`
}

// NodeJobs is a target's answer to GET /v1/internal/jobs.
type NodeJobs struct {
	Jobs []meta.JobStatus `json:"jobs"`
}

// Job is one job across the cluster, as a gateway reports it: its state over all targets that
// run it, the sum of their counters and each target's own status.
type Job struct {
	ID    string        `json:"id"`
	Kind  string        `json:"kind"`
	State meta.JobState `json:"state"`
	Epoch uint64        `json:"epoch,omitempty"`
	Start int64         `json:"start"`
	End   int64         `json:"end,omitempty"` // 0 while any target runs it
	Error string        `json:"error,omitempty"`
	// Counters are the sums over Targets.
	Counters meta.JobCounters `json:"counters"`
	Targets  []meta.JobStatus `json:"targets"`
	// Unreachable lists the targets that did not answer: the job may run there too.
	Unreachable []string `json:"unreachable,omitempty"`
}

// JobList is the answer of GET /v1/jobs: newest first.
type JobList struct {
	Jobs []Job `json:"jobs"`
}

// RebalanceStatus is one target's part in the rebalance towards the placement of its view (GET
// /v1/internal/rebalance on its control listener).
type RebalanceStatus struct {
	Node      string `json:"node"`
	Epoch     uint64 `json:"epoch"`
	Placement uint64 `json:"placement"` // ID of the placement of its view (hash of the active targets)
	Done      uint64 `json:"done"`      // placement of its last finished rebalance
	Running   bool   `json:"running"`
	Job       string `json:"job,omitempty"` // its current or last rebalance job
	// Settled: it has seen every target done with this placement (objects are at their
	// owners; no request needs to look elsewhere).
	Settled bool `json:"settled"`
	// Counters of Job on this target.
	Counters meta.JobCounters `json:"counters"`
	State    meta.JobState    `json:"state,omitempty"` // of Job
}

// RebalanceInfo is the answer of GET /v1/cluster/rebalance on a gateway: every target's
// status. Done is true when all targets that answered are done with one and the same placement
// and none failed to answer.
type RebalanceInfo struct {
	Epoch       uint64            `json:"epoch"`
	Done        bool              `json:"done"`
	Targets     []RebalanceStatus `json:"targets"`
	Unreachable []string          `json:"unreachable,omitempty"`
}

// MountpathRequest is the body of POST /v1/cluster/nodes/{id}/mountpaths on a gateway and of
// POST /v1/internal/mountpaths on a target's control listener.
type MountpathRequest struct {
	Action string `json:"action"` // attach, detach, enable or disable
	Path   string `json:"path"`
}

// Mountpath actions.
const (
	MountpathAttach  = "attach"
	MountpathDetach  = "detach"
	MountpathEnable  = "enable"
	MountpathDisable = "disable"
)

// MountpathResponse answers a mountpath request: the target's mountpaths after it, and the
// resilver job it started ("" if none was needed).
type MountpathResponse struct {
	Node     string   `json:"node"`
	Active   []string `json:"active"`
	Disabled []string `json:"disabled,omitempty"`
	Draining []string `json:"draining,omitempty"` // detached or disabled, objects still moving off
	Job      string   `json:"job,omitempty"`
}

// AggregateJobs groups targets' job statuses by job ID into cluster jobs, newest first. A job
// runs while any target runs it; otherwise it failed if any target failed, was aborted if any
// aborted, was superseded if any was, and finished if all finished.
func AggregateJobs(parts []meta.JobStatus) []Job {
	byID := map[string]*Job{}
	var order []string
	for _, p := range parts {
		j, ok := byID[p.ID]
		if !ok {
			j = &Job{ID: p.ID, Kind: p.Kind, Start: p.Start}
			byID[p.ID] = j
			order = append(order, p.ID)
		}
		j.Targets = append(j.Targets, p)
	}
	out := make([]Job, 0, len(order))
	for _, id := range order {
		out = append(out, summarize(*byID[id]))
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Start != out[b].Start {
			return out[a].Start > out[b].Start
		}
		return out[a].ID > out[b].ID
	})
	return out
}

func summarize(j Job) Job {
	sort.Slice(j.Targets, func(a, b int) bool { return j.Targets[a].Node < j.Targets[b].Node })
	rank := map[meta.JobState]int{meta.JobFinished: 0, meta.JobSuperseded: 1, meta.JobAborted: 2, meta.JobFailed: 3, meta.JobRunning: 4}
	j.State = meta.JobFinished
	for _, t := range j.Targets {
		j.Counters.Add(t.Counters)
		j.Start = min(j.Start, t.Start)
		j.End = max(j.End, t.End)
		j.Epoch = max(j.Epoch, t.Epoch)
		if rank[t.State] > rank[j.State] {
			j.State = t.State
		}
		if t.Error != "" && j.Error == "" {
			j.Error = t.Node + ": " + t.Error
		}
	}
	if j.State == meta.JobRunning {
		j.End = 0
	}
	return j
}
