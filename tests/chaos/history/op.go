package history

import (
	"fmt"
	"math"
	"sort"
)

// Never is the return time of an operation whose outcome is unknown: it may take effect at
// any time after its invocation.
const Never = math.MaxInt64

// Op is a client operation: an invocation paired with its completion.
type Op struct {
	Process string
	F       string
	Key     string
	Value   string // write ID written (put, cas)
	Expect  string // cas
	Prefix  string // list

	Type   string   // OK, Fail or Info (Info also when the history ends before a completion)
	Result string   // get: the write ID read
	Absent bool     // get, delete: there was no object
	Blind  bool     // delete: the answer does not say whether there was an object
	Keys   []string // list
	Code   string
	Error  string
	Bad    string
	Epochs []EpochSeen
	Parts  int // put: an S3 multipart upload of this many parts

	Call, Return int64 // Return is Never for Info
	Gateway      string
	API          string
}

// Writes reports whether the operation may change state (put, delete, cas).
func (o *Op) Writes() bool { return o.F == Put || o.F == Delete || o.F == CAS }

// Ops pairs each client invocation with the next completion of the same process and returns
// the operations ordered by invocation. An invocation without a completion is Info. Nemesis
// events are skipped.
func Ops(events []Event) ([]Op, error) {
	open := map[string]*Op{}
	var out []*Op
	for _, e := range events {
		if e.Process == Nemesis {
			continue
		}
		switch e.Type {
		case Invoke:
			if o := open[e.Process]; o != nil {
				return nil, fmt.Errorf("history: event %d: process %s invokes %s while %s is open",
					e.Index, e.Process, e.F, o.F)
			}
			o := &Op{Process: e.Process, F: e.F, Key: e.Key, Value: e.Value, Expect: e.Expect,
				Prefix: e.Prefix, Call: e.Time, Return: Never, Type: Info, Gateway: e.Gateway, API: e.API}
			open[e.Process] = o
			out = append(out, o)
		case OK, Fail, Info:
			o := open[e.Process]
			if o == nil {
				return nil, fmt.Errorf("history: event %d: %s completion of process %s without an invocation",
					e.Index, e.Type, e.Process)
			}
			if o.F != e.F || o.Key != e.Key {
				return nil, fmt.Errorf("history: event %d: completion %s %q does not match invocation %s %q",
					e.Index, e.F, e.Key, o.F, o.Key)
			}
			delete(open, e.Process)
			o.Type, o.Code, o.Error, o.Bad, o.Epochs, o.Parts = e.Type, e.Code, e.Error, e.Bad, e.Epochs, e.Parts
			if e.Type != Info {
				o.Return = e.Time
			}
			switch o.F {
			case Get:
				o.Result, o.Absent = e.Value, e.Absent
			case Delete:
				o.Absent, o.Blind = e.Absent, e.Blind
			case List:
				o.Keys = e.Keys
			}
		default:
			return nil, fmt.Errorf("history: event %d: unknown type %q", e.Index, e.Type)
		}
	}
	res := make([]Op, len(out))
	for i, o := range out {
		res[i] = *o
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].Call < res[j].Call })
	return res, nil
}

// NemesisEvents returns the nemesis events in order.
func NemesisEvents(events []Event) []Event {
	var out []Event
	for _, e := range events {
		if e.Process == Nemesis {
			out = append(out, e)
		}
	}
	return out
}
