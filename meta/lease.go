package meta

// Lease is meta's permission for one holder to run one job. Token is the fencing token: the
// Raft index of the command that granted the lease, so every re-grant has a larger one.
type Lease struct {
	JobID   string `json:"job_id"`
	Kind    string `json:"kind"`
	Holder  string `json:"holder"`
	Token   uint64 `json:"token"`
	Expires int64  `json:"expires"` // Unix nanoseconds
}

// Expired reports whether the lease has run out at now (Unix nanoseconds).
func (l *Lease) Expired(now int64) bool { return now >= l.Expires }
