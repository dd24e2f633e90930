package history

// Event types, as in Jepsen: a client operation is an Invoke followed by exactly one of OK,
// Fail (it certainly had no effect) or Info (its outcome is unknown: a timeout, a lost
// connection, a server error after the request was sent). Nemesis events are Info.
const (
	Invoke = "invoke"
	OK     = "ok"
	Fail   = "fail"
	Info   = "info"
)

// Client operations (Event.F).
const (
	Put    = "put"    // write Value under Key
	Get    = "get"    // read Key; Value is the write ID read, Absent if there was none
	Delete = "delete" // remove Key; Absent on completion if it was already gone (404)
	CAS    = "cas"    // conditional put: write Value if the current write is Expect ("" = absent)
	List   = "list"   // list names under Prefix; Keys on completion
)

// Nemesis operations (Event.F, with Process == Nemesis).
const (
	FaultStart  = "start"       // a fault begins (Fault names it)
	FaultStop   = "stop"        // the fault is healed
	Recovered   = "recovered"   // the cluster is healthy again, Millis after the heal
	Unrecovered = "unrecovered" // the cluster did not become healthy within the bound
)

// Nemesis is the process name of fault events.
const Nemesis = "nemesis"

// Event is one line of a history.
type Event struct {
	Index   int64  `json:"index"`
	Time    int64  `json:"time"` // nanoseconds since the run started (monotonic)
	Process string `json:"process"`
	Type    string `json:"type"`
	F       string `json:"f"`

	Key    string `json:"key,omitempty"`
	Value  string `json:"value,omitempty"`  // write ID written (put, cas) or read (get)
	Expect string `json:"expect,omitempty"` // cas: the write ID expected; "" means absent
	Absent bool   `json:"absent,omitempty"` // get, delete: the object did not exist
	// Blind marks a successful delete whose answer does not say whether the object existed
	// (S3 answers 204 either way).
	Blind  bool     `json:"blind,omitempty"`
	Prefix string   `json:"prefix,omitempty"` // list
	Keys   []string `json:"keys,omitempty"`   // list: the names returned

	Gateway string `json:"gateway,omitempty"` // base URL the client used
	API     string `json:"api,omitempty"`     // "native" or "s3"
	Code    string `json:"code,omitempty"`    // error code of a failed operation (ObjectNotFound, Corrupt, ...)
	Error   string `json:"error,omitempty"`
	// Bad says why the bytes a read returned are not an intact write of Key (torn,
	// misplaced, damaged). Any Bad read is an anomaly.
	Bad    string      `json:"bad,omitempty"`
	Epochs []EpochSeen `json:"epochs,omitempty"` // Ais-Epoch answers seen during the operation
	// Parts is the number of parts of a put made as an S3 multipart upload.
	Parts int `json:"parts,omitempty"`

	// Nemesis fields.
	Fault       string   `json:"fault,omitempty"`
	Description string   `json:"description,omitempty"`
	Nodes       []string `json:"nodes,omitempty"` // nodes the fault touched
	Restarted   []string `json:"restarted,omitempty"`
	Millis      int64    `json:"ms,omitempty"` // Recovered: time from heal to healthy
}

// EpochSeen is one Ais-Epoch header a client saw in an answer.
type EpochSeen struct {
	Node  string `json:"node"`  // the node that answered (by address)
	Epoch uint64 `json:"epoch"` // its Ais-Epoch
	// Signed is the epoch a gateway signed into the URL of a target request (0 for requests
	// to gateways); a target must never answer a data request below it.
	Signed uint64 `json:"signed,omitempty"`
	Status int    `json:"status"`
	Time   int64  `json:"time"`
}
