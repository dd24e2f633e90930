package check

import (
	"sort"
	"strings"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Integrity checks that no read returned bytes that are not an intact write of the key it
// asked for (torn, misplaced, or damaged bytes served as good).
func Integrity(ops []history.Op) *Result {
	r := newResult("integrity")
	for _, o := range ops {
		if o.F != history.Get || o.Type != history.OK {
			continue
		}
		r.Checked++
		if o.Bad != "" {
			r.addf("%s read %s at %s through %s: WRONG BYTES: %s", o.Process, o.Key, ms(o.Call), o.Gateway, o.Bad)
		}
	}
	return r
}

// Damage is when a nemesis damaged one object: from the start of the fault to the moment
// the damage was done.
type Damage struct{ Start, Done int64 }

// Damaged returns the keys a nemesis damaged on disk whose damage no write can have undone:
// no write of the key was in flight when the damage began, or started after it.
func Damaged(events []history.Event, ops []history.Op) map[string]Damage {
	writes := writesByKey(ops)
	out := map[string]Damage{}
	started := map[string]int64{}
	for _, e := range history.NemesisEvents(events) {
		if e.Fault != FaultCorrupt || e.Key == "" {
			continue
		}
		switch e.F {
		case history.FaultStart:
			started[e.Key] = e.Time
		case history.FaultStop:
			t, ok := started[e.Key]
			if !ok || e.Error != "" {
				continue
			}
			undone := false
			for _, w := range writes[e.Key] {
				if w.Return >= t {
					undone = true
					break
				}
			}
			if _, seen := out[e.Key]; !undone && !seen {
				out[e.Key] = Damage{Start: t, Done: e.Time}
			}
		}
	}
	return out
}

// FaultCorrupt is the nemesis fault name of on-disk damage to one object (Event.Key).
const FaultCorrupt = "corrupt-object"

// Corruption checks that objects damaged on disk are reported, never served: every read of
// a damaged key that started after the damage fails (500 Corrupt), and the final read of each
// such key is Corrupt. Restoring damaged objects from redundancy (mirror, EC) does not exist
// yet; when it does, this checker will expect the restored bytes instead.
func Corruption(events []history.Event, ops []history.Op, final string) *Result {
	r := newResult("corruption reported, never served")
	damaged := Damaged(events, ops)
	keys := make([]string, 0, len(damaged))
	for k := range damaged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	finals := map[string]history.Op{}
	for _, o := range ops {
		d, ok := damaged[o.Key]
		if !ok || o.F != history.Get || o.Call <= d.Done {
			continue
		}
		r.Checked++
		if o.Type == history.OK {
			what := "absent"
			if !o.Absent {
				what = o.Result
			}
			r.addf("%s read damaged %s at %s: answered %s instead of Corrupt", o.Process, o.Key, ms(o.Call), what)
		}
		if strings.HasPrefix(o.Process, final) {
			finals[o.Key] = o
		}
	}
	for _, k := range keys {
		f, ok := finals[k]
		switch {
		case !ok:
			r.addf("damaged %s: no final read", k)
		case f.Type != history.OK && f.Code != "Corrupt":
			r.addf("damaged %s: final read failed with %q (%s), not Corrupt", k, f.Code, f.Error)
		}
	}
	return r
}
