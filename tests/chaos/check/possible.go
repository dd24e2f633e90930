package check

import (
	"sort"
	"strings"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// absent stands for "no object" among possible values.
const absent = ""

// writeLog is every operation of one key that may have changed it: successful and unknown
// puts, deletes and conditional puts.
type writeLog []history.Op

// writesByKey collects the writes of every key.
func writesByKey(ops []history.Op) map[string]writeLog {
	m := map[string]writeLog{}
	for _, o := range ops {
		if o.Writes() && (o.Type == history.OK || o.Type == history.Info) {
			m[o.Key] = append(m[o.Key], o)
		}
	}
	return m
}

// possible returns the states an observation of the key over [call, ret] may legally see:
// the effect of every write invoked before the observation ended, except writes that were
// certainly overwritten before it began (a successful write that started after they returned
// and returned before the observation started), and "absent" if no write had certainly
// completed before it began. It is a necessary condition only; porcupine does the full check.
func (wl writeLog) possible(call, ret int64) map[string]bool {
	out := map[string]bool{}
	initial := true
	for _, w := range wl {
		if w.Type == history.OK && w.Return < call {
			initial = false
		}
	}
	if initial {
		out[absent] = true
	}
	for _, w := range wl {
		if w.Call > ret || wl.overwritten(w, call) {
			continue
		}
		if w.F == history.Delete {
			out[absent] = true
		} else {
			out[w.Value] = true
		}
	}
	return out
}

// overwritten reports whether a successful write started after w returned and itself
// returned before t.
func (wl writeLog) overwritten(w history.Op, t int64) bool {
	if w.Return == history.Never {
		return false
	}
	for _, w2 := range wl {
		if w2.Type == history.OK && w2.Call > w.Return && w2.Return < t {
			return true
		}
	}
	return false
}

// acknowledged returns the successful puts among the possible writes at [call, ret].
func (wl writeLog) acknowledged(call, ret int64) []string {
	var out []string
	for _, w := range wl {
		if w.Type == history.OK && w.F != history.Delete && w.Call <= ret && !wl.overwritten(w, call) {
			out = append(out, w.Value)
		}
	}
	return out
}

func describe(set map[string]bool) string {
	var vs []string
	for v := range set {
		if v == absent {
			v = "(absent)"
		}
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return "{" + strings.Join(vs, ", ") + "}"
}
