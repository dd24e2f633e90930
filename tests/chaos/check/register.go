package check

import (
	"fmt"

	"github.com/anishathalye/porcupine"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// regInput is one operation on a register (one object name): its state is the write ID of
// the object's current bytes, "" when the object does not exist.
type regInput struct {
	F      string
	Value  string // put, cas: the write ID written
	Expect string // cas
}

// regOutput is what the operation answered.
type regOutput struct {
	Unknown bool   // Info: it may or may not have taken effect
	Refused bool   // cas answered PreconditionFailed
	Result  string // get: the write ID read
	Absent  bool   // get, delete: there was no object
	Blind   bool   // delete: the answer does not say whether there was one
}

// registerModel is the sequential specification of one object under PUT, GET, DELETE and
// conditional PUT. It is deterministic: an operation of unknown outcome has no return time,
// so "it had no effect" is the same as "it took effect after everything else".
var registerModel = porcupine.NondeterministicModel{
	Init: func() []interface{} { return []interface{}{""} },
	Step: func(st, in, out interface{}) []interface{} {
		s, i, o := st.(string), in.(regInput), out.(regOutput)
		switch i.F {
		case history.Put:
			return []interface{}{i.Value}
		case history.Get:
			if o.Absent && s == "" || !o.Absent && o.Result == s {
				return []interface{}{s}
			}
			return nil
		case history.Delete:
			switch {
			case o.Unknown || o.Blind:
				return []interface{}{""}
			case o.Absent && s == "" || !o.Absent && s != "":
				return []interface{}{""}
			}
			return nil
		case history.CAS:
			switch {
			case o.Unknown && s == i.Expect:
				// "No effect" needs no branch: an unknown operation never returns, so it can
				// always be placed after every other one instead.
				return []interface{}{i.Value}
			case o.Unknown:
				return []interface{}{s}
			case o.Refused && s != i.Expect:
				return []interface{}{s}
			case !o.Refused && s == i.Expect:
				return []interface{}{i.Value}
			}
			return nil
		}
		return nil
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	DescribeOperation: func(in, out interface{}) string {
		i, o := in.(regInput), out.(regOutput)
		res := "ok"
		switch {
		case o.Unknown:
			res = "?"
		case o.Refused:
			res = "refused"
		case i.F == history.Get && o.Absent:
			res = "absent"
		case i.F == history.Get:
			res = o.Result
		case i.F == history.Delete && o.Absent:
			res = "absent"
		}
		switch i.F {
		case history.Put:
			return fmt.Sprintf("put(%s) -> %s", i.Value, res)
		case history.CAS:
			return fmt.Sprintf("cas(%q->%s) -> %s", i.Expect, i.Value, res)
		}
		return fmt.Sprintf("%s -> %s", i.F, res)
	},
	DescribeState: func(st interface{}) string {
		if s := st.(string); s != "" {
			return s
		}
		return "(absent)"
	},
}

// registerOps turns one key's operations into porcupine operations: successful and unknown
// writes, successful reads with intact bytes, and refused conditional puts (412, or 404 for
// an If-Match). Failed operations
// had no effect and say nothing; reads of damaged bytes are the integrity checker's.
func registerOps(ops []history.Op, clients map[string]int) []porcupine.Operation {
	var out []porcupine.Operation
	for _, o := range ops {
		var output regOutput
		switch {
		case o.F == history.List:
			continue
		case o.Type == history.OK && o.Bad == "":
			output = regOutput{Result: o.Result, Absent: o.Absent, Blind: o.Blind}
		case o.Type == history.Info && o.Writes():
			output = regOutput{Unknown: true}
		case o.Type == history.Fail && o.F == history.CAS && (o.Code == "PreconditionFailed" || o.Code == "NoSuchKey"):
			// The condition was false (If-Match of an absent object answers 404): a read of
			// "not the expected state".
			output = regOutput{Refused: true}
		default:
			continue
		}
		id, ok := clients[o.Process]
		if !ok {
			id = len(clients)
			clients[o.Process] = id
		}
		out = append(out, porcupine.Operation{ClientId: id,
			Input: regInput{F: o.F, Value: o.Value, Expect: o.Expect}, Output: output,
			Call: o.Call, Return: o.Return, Metadata: o.Key})
	}
	return out
}
