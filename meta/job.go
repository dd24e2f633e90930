package meta

// Job kinds that every target knows. Later issues add theirs (mirror, ec-encode, copy, ...).
const (
	JobRebalance = "rebalance" // move objects to their HRW target after the active target set changed
	JobResilver  = "resilver"  // move objects to their HRW mountpath after a target's mountpaths changed
	JobMirror    = "mirror"    // make (or remove) mirror copies of a bucket's objects per mirror.copies
	JobScrub     = "scrub"     // re-hash every object and copy of a bucket and restore the damaged ones
)

// JobState is where a job is in its life.
type JobState string

const (
	JobRunning    JobState = "running"
	JobFinished   JobState = "finished"   // did all its work
	JobAborted    JobState = "aborted"    // stopped by a user (or by its node's shutdown) before the end
	JobFailed     JobState = "failed"     // stopped by an error; Error says which
	JobSuperseded JobState = "superseded" // a newer job of the same kind took its work over
)

// Done reports whether the state is final.
func (s JobState) Done() bool { return s != JobRunning && s != "" }

// JobCounters are a job's progress on one node. "Local" counts what the node visited of its
// own objects, "sent" and "received" what crossed to and from other targets (or mountpaths,
// for a resilver).
type JobCounters struct {
	LocalObjects    int64 `json:"local_objects"`
	LocalBytes      int64 `json:"local_bytes"`
	SentObjects     int64 `json:"sent_objects"`
	SentBytes       int64 `json:"sent_bytes"`
	ReceivedObjects int64 `json:"received_objects"`
	ReceivedBytes   int64 `json:"received_bytes"`
	// Errors counts objects whose move failed and will be tried again (or were given up).
	Errors int64 `json:"errors"`
	// Scrub and restore: objects checked, found damaged (a copy corrupt or missing), restored
	// to full redundancy, and left unrecoverable (no valid copy anywhere).
	Checked       int64 `json:"checked,omitempty"`
	Damaged       int64 `json:"damaged,omitempty"`
	Restored      int64 `json:"restored,omitempty"`
	Unrecoverable int64 `json:"unrecoverable,omitempty"`
}

// Add adds o to c.
func (c *JobCounters) Add(o JobCounters) {
	c.LocalObjects += o.LocalObjects
	c.LocalBytes += o.LocalBytes
	c.SentObjects += o.SentObjects
	c.SentBytes += o.SentBytes
	c.ReceivedObjects += o.ReceivedObjects
	c.ReceivedBytes += o.ReceivedBytes
	c.Errors += o.Errors
	c.Checked += o.Checked
	c.Damaged += o.Damaged
	c.Restored += o.Restored
	c.Unrecoverable += o.Unrecoverable
}

// JobStatus is one job on one node: what the jobs API reports per target.
type JobStatus struct {
	ID    string   `json:"id"`
	Kind  string   `json:"kind"`
	Node  string   `json:"node"`
	State JobState `json:"state"`
	// Epoch is the epoch whose placement the job works towards (rebalance, resilver).
	Epoch    uint64      `json:"epoch,omitempty"`
	Start    int64       `json:"start"`         // Unix nanoseconds
	End      int64       `json:"end,omitempty"` // Unix nanoseconds; 0 while running
	Error    string      `json:"error,omitempty"`
	Counters JobCounters `json:"counters"`
	// Detail is a short human note on what the job is doing ("pass 2", "waiting for t3").
	Detail string `json:"detail,omitempty"`
}

// Job errors.
var (
	ErrJobNotFound     = newErr(KindNotExist, "job does not exist")
	ErrJobKind         = newErr(KindInvalid, "unknown job kind, or one that cannot be started by request")
	ErrJobRunning      = newErr(KindBusy, "a job with this ID is already running")
	ErrAborted         = newErr(KindTransient, "job aborted")
	ErrMountpathExists = newErr(KindExist, "mountpath already attached")
	ErrNoMountpath     = newErr(KindNotExist, "no such mountpath")
	// ErrMountpathFault: the disk under one of the target's mountpaths answered with an I/O
	// error. The target probes it and disables it if it is dead; a retry is served from
	// another copy or written to another mountpath.
	ErrMountpathFault = newErr(KindTransient, "a disk of the target failed; retry")
)
