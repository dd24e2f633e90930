package meta

import "errors"

// Kind classifies an error so that every protocol edge can pick a status without knowing the
// concrete error.
type Kind uint8

const (
	KindInternal     Kind = iota // a bug or an unexpected failure
	KindNotExist                 // the named thing does not exist
	KindExist                    // the named thing already exists
	KindInvalid                  // the request is malformed or breaks a rule
	KindPermission               // the caller may not do this
	KindBusy                     // a conflicting operation is under way; retry later
	KindTransient                // a passing condition (leader change, stale epoch); retry
	KindCorrupt                  // stored bytes do not match their checksum
	KindRange                    // a byte range that cannot be satisfied
	KindPrecondition             // a conditional request's condition is false
)

var kindNames = [...]string{"internal", "not-exist", "exist", "invalid", "permission", "busy",
	"transient", "corrupt", "range", "precondition"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is a sentinel domain error. Callers wrap it with context (fmt.Errorf("...: %w", ErrX))
// and test for it with errors.Is.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func newErr(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// Sentinel errors. Every protocol table (api, gateway's S3 table, fuse) maps these.
var (
	ErrBucketNotFound      = newErr(KindNotExist, "bucket does not exist")
	ErrBucketExists        = newErr(KindExist, "bucket already exists")
	ErrBucketNotEmpty      = newErr(KindBusy, "bucket is not empty")
	ErrInvalidBucketName   = newErr(KindInvalid, "invalid bucket name")
	ErrInvalidBucketProps  = newErr(KindInvalid, "invalid bucket properties")
	ErrObjectNotFound      = newErr(KindNotExist, "object does not exist")
	ErrInvalidObjectName   = newErr(KindInvalid, "invalid object name")
	ErrNodeNotFound        = newErr(KindNotExist, "node does not exist")
	ErrInvalidNode         = newErr(KindInvalid, "invalid node")
	ErrInvalidConfig       = newErr(KindInvalid, "invalid cluster config")
	ErrInvalidRequest      = newErr(KindInvalid, "invalid request")
	ErrBadDigest           = newErr(KindInvalid, "checksum of the body does not match the one sent")
	ErrIncompleteBody      = newErr(KindInvalid, "request body is shorter than its Content-Length")
	ErrRangeNotSatisfiable = newErr(KindRange, "requested range is not satisfiable")
	ErrCorrupt             = newErr(KindCorrupt, "stored data does not match its checksum")
	ErrPermission          = newErr(KindPermission, "access denied")
	ErrNotLeader           = newErr(KindTransient, "not the metadata leader")
	ErrStaleEpoch          = newErr(KindTransient, "caller's epoch is behind; refresh and retry")
	ErrUnavailable         = newErr(KindTransient, "service temporarily unavailable")
	ErrNoTargets           = newErr(KindTransient, "no active targets in the cluster map")
	ErrLeaseHeld           = newErr(KindBusy, "lease is held by another node")
	ErrLeaseNotFound       = newErr(KindNotExist, "lease does not exist")
	ErrStaleToken          = newErr(KindPermission, "fencing token is older than one already seen")
	ErrPrecondition        = newErr(KindPrecondition, "precondition failed")
	// ErrTooFewSlices: an object of an EC bucket is damaged or missing on its owner and
	// fewer than D of its slices (and none of its replicas) are left to rebuild it.
	ErrTooFewSlices = newErr(KindCorrupt, "too few EC slices or replicas left to rebuild the object")
	// ErrStaleView: a target refused a data request, before doing anything, because it has
	// not heard from meta recently enough to trust its cluster map (docs/rebalance.md).
	ErrStaleView = newErr(KindTransient, "target has not heard from meta recently; its cluster map may be stale")
)

// KindOf returns the Kind of the first *Error in err's chain, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
