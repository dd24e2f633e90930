package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Integrity checks that no read returned bytes that are not an intact write of the key it
// asked for (torn, misplaced, or damaged bytes served as good). A read that overlaps a
// nemesis damaging that very object on disk is exempt: the target verified the bytes and then
// sent the file again (sendfile), and damage landing in between cannot be told from bit rot
// during the send; such reads are counted in the result's name.
func Integrity(events []history.Event, ops []history.Op) *Result {
	r := newResult("integrity")
	windows := map[string][][2]int64{}
	start := map[string]int64{}
	for _, e := range history.NemesisEvents(events) {
		if e.Fault != FaultCorrupt && e.Fault != FaultCorruptCopy || e.Key == "" {
			continue
		}
		switch e.F {
		case history.FaultStart:
			start[e.Key] = e.Time
		case history.FaultStop:
			windows[e.Key] = append(windows[e.Key], [2]int64{start[e.Key], e.Time})
		}
	}
	exempt := 0
	for _, o := range ops {
		if o.F != history.Get || o.Type != history.OK {
			continue
		}
		r.Checked++
		if o.Bad == "" {
			continue
		}
		racing := false
		for _, w := range windows[o.Key] {
			racing = racing || o.Call <= w[1] && o.Return >= w[0]
		}
		if racing {
			exempt++
			continue
		}
		r.addf("%s read %s at %s through %s: WRONG BYTES: %s", o.Process, o.Key, ms(o.Call), o.Gateway, o.Bad)
	}
	if exempt > 0 {
		r.Name = fmt.Sprintf("integrity (%d reads racing on-disk damage exempt)", exempt)
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
	damageDone(events, FaultCorrupt, func(key string, start, done int64) {
		for _, w := range writes[key] {
			if w.Return >= start {
				return // a write may have undone it
			}
		}
		if _, seen := out[key]; !seen {
			out[key] = Damage{Start: start, Done: done}
		}
	})
	return out
}

// damageDone calls fn for each damage of kind fault that a nemesis finished without error: the
// key, when the damage began and when it was done.
func damageDone(events []history.Event, fault string, fn func(key string, start, done int64)) {
	started := map[string]int64{}
	for _, e := range history.NemesisEvents(events) {
		if e.Fault != fault || e.Key == "" {
			continue
		}
		switch e.F {
		case history.FaultStart:
			started[e.Key] = e.Time
		case history.FaultStop:
			if t, ok := started[e.Key]; ok && e.Error == "" {
				fn(e.Key, t, e.Time)
			}
		}
	}
}

// DamageTargets returns every key a nemesis damaged, whether or not a write may have undone
// the damage.
func DamageTargets(events []history.Event) map[string]bool {
	out := map[string]bool{}
	for _, e := range history.NemesisEvents(events) {
		if e.Fault == FaultCorrupt && e.F == history.FaultStart && e.Key != "" {
			out[e.Key] = true
		}
	}
	return out
}

// Nemesis fault names of on-disk damage to one object (Event.Key): FaultCorrupt damages an
// object's only copy; FaultCorruptCopy damages the primary copy of an object with redundancy
// (mirror copies, EC replicas or slices), which restore on read must repair.
const (
	FaultCorrupt     = "corrupt-object"
	FaultCorruptCopy = "corrupt-copy"
)

// Corruption checks that objects damaged on disk are reported, never served: every read of
// a damaged key that started after the damage fails (500 Corrupt), and the final read of each
// such key is Corrupt. Objects damaged while they had redundancy are Restored's.
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

// Restored checks objects whose primary copy was damaged while they had redundancy
// (FaultCorruptCopy): no read that started after the damage fails with Corrupt (restore on read
// rebuilds the copy from a mirror copy or from EC replicas or slices, then serves it), and the
// final read of each succeeds. That the bytes served are an intact write of the key is
// Integrity's rule, and that they are the right write the ledger's and linearizability's.
func Restored(events []history.Event, ops []history.Op, final string) *Result {
	r := newResult("restore from redundancy")
	done := map[string]int64{}
	damageDone(events, FaultCorruptCopy, func(key string, _, at int64) {
		if _, seen := done[key]; !seen {
			done[key] = at
		}
	})
	keys := make([]string, 0, len(done))
	for k := range done {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	finals := map[string]history.Op{}
	served := 0
	for _, o := range ops {
		t, ok := done[o.Key]
		if !ok || o.F != history.Get || o.Call <= t {
			continue
		}
		r.Checked++
		switch {
		case o.Type == history.OK && !o.Absent:
			served++
		case o.Code == "Corrupt":
			r.addf("%s read %s at %s, damaged at %s with redundancy left: Corrupt instead of the restored bytes",
				o.Process, o.Key, ms(o.Call), ms(t))
		}
		if strings.HasPrefix(o.Process, final) {
			finals[o.Key] = o
		}
	}
	for _, k := range keys {
		if f, ok := finals[k]; !ok || f.Type != history.OK {
			why := "no final read"
			if ok {
				why = fmt.Sprintf("final read failed with %q (%s)", f.Code, f.Error)
			}
			r.addf("damaged %s with redundancy left: %s", k, why)
		}
	}
	r.Name = fmt.Sprintf("restore from redundancy (%d objects damaged, %d reads after the damage served bytes)", len(keys), served)
	return r
}
