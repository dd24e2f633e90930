package check

import (
	"sort"
	"strings"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Ledger checks durability: every key that was ever written must have been read by the final
// process after the faults were healed, and that read must return the last acknowledged write
// (or a write that may have overwritten it, or absent if a delete may have), with intact
// bytes. For keys in damaged (objects a nemesis damaged on disk) a final read answered Corrupt
// is accepted: Corruption decides whether the damage had to show.
func Ledger(ops []history.Op, final string, damaged map[string]bool) *Result {
	r := newResult("durability ledger")
	writes := writesByKey(ops)
	reads := map[string][]history.Op{}
	for _, o := range ops {
		if strings.HasPrefix(o.Process, final) && o.F == history.Get {
			reads[o.Key] = append(reads[o.Key], o)
		}
	}
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		wl := writes[k]
		r.Checked++
		var done []history.Op
		reported := false
		for _, o := range reads[k] {
			if o.Type == history.OK && o.Bad == "" {
				done = append(done, o)
			}
			reported = reported || damaged[k] && o.Code == "Corrupt"
		}
		if len(done) == 0 && reported {
			continue
		}
		if len(done) == 0 {
			why := "never attempted"
			if n := len(reads[k]); n > 0 {
				last := reads[k][n-1]
				why = last.Type + " " + last.Code + " " + last.Error
			}
			if len(wl.acknowledged(history.Never-1, history.Never-1)) > 0 {
				r.addf("key %s: acknowledged writes but no successful final read (%s)", k, strings.TrimSpace(why))
			}
			continue
		}
		for _, o := range done {
			p := wl.possible(o.Call, o.Return)
			got := o.Result
			if o.Absent {
				got = absent
			}
			if p[got] {
				continue
			}
			if got == absent {
				r.addf("key %s: LOST acknowledged write %v: the final read found no object (expected one of %s)",
					k, wl.acknowledged(o.Call, o.Return), describe(p))
			} else {
				r.addf("key %s: final read returned %s, expected one of %s", k, got, describe(p))
			}
		}
	}
	return r
}
