package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// hb builds histories: each op call appends an invocation at call and a completion at ret.
type hb struct{ ev []history.Event }

func (b *hb) op(process, f, key, value string, call, ret int64, typ string, done func(*history.Event)) *hb {
	b.ev = append(b.ev, history.Event{Time: call, Process: process, Type: history.Invoke, F: f, Key: key, Value: value})
	c := history.Event{Time: ret, Process: process, Type: typ, F: f, Key: key}
	if done != nil {
		done(&c)
	}
	b.ev = append(b.ev, c)
	return b
}

func (b *hb) nemesis(e history.Event) *hb {
	e.Process, e.Type = history.Nemesis, history.Info
	b.ev = append(b.ev, e)
	return b
}

func read(v string) func(*history.Event) {
	return func(e *history.Event) {
		if v == "" {
			e.Absent = true
		} else {
			e.Value = v
		}
	}
}

func listed(prefix string, keys ...string) func(*history.Event) {
	return func(e *history.Event) { e.Prefix, e.Keys = prefix, keys }
}

func ops(t *testing.T, ev []history.Event) []history.Op {
	t.Helper()
	o, err := history.Ops(ev)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func load(t *testing.T, name string) []history.Event {
	t.Helper()
	ev, err := history.Read(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestPlantedStaleRead feeds the linearizability checker a history in which a read returns a
// value that a completed later write had replaced. It must fail, and write the visualization.
func TestPlantedStaleRead(t *testing.T) {
	ev := load(t, "stale-read.jsonl")
	dir := t.TempDir()
	r := Linearizable(ops(t, ev), dir, 10*time.Second)
	if r.Valid {
		t.Fatalf("a stale read passed the linearizability checker:\n%s", r)
	}
	if len(r.Artifacts) != 1 {
		t.Fatalf("no visualization written:\n%s", r)
	}
	html, err := os.ReadFile(r.Artifacts[0])
	if err != nil || !strings.Contains(string(html), "c0-1") {
		t.Fatalf("visualization %s unreadable or without the operations: %v", r.Artifacts[0], err)
	}
	// The durability ledger alone does not see it: the final read is right.
	if l := Ledger(ops(t, ev), "final", nil); !l.Valid {
		t.Fatalf("ledger: %s", l)
	}
}

// TestPlantedLostWrite feeds the ledger a history in which an acknowledged write is gone at
// the end. It must fail and name the write; the unknown write that is also gone is fine.
func TestPlantedLostWrite(t *testing.T) {
	ev := load(t, "lost-write.jsonl")
	r := Ledger(ops(t, ev), "final", nil)
	if r.Valid || r.Count != 1 || !strings.Contains(r.Anomalies[0], "LOST") || !strings.Contains(r.Anomalies[0], "c0-1") {
		t.Fatalf("ledger did not report exactly the lost acknowledged write c0-1:\n%s", r)
	}
	if l := Linearizable(ops(t, ev), "", 10*time.Second); l.Valid {
		t.Fatalf("linearizability passed a lost write:\n%s", l)
	}
}

// TestGoodHistory: every checker passes a legal history (so the failures above are not
// checkers that always fail).
func TestGoodHistory(t *testing.T) {
	ev := load(t, "good.jsonl")
	o := ops(t, ev)
	rec, _ := Recovery(ev)
	for _, r := range []*Result{Linearizable(o, t.TempDir(), 10*time.Second), Ledger(o, "final", nil),
		Listing(o), Epochs(ev, o), Integrity(ev, o), Corruption(ev, o, "final"), Restored(ev, o, "final"), rec} {
		if !r.Valid {
			t.Errorf("%s", r)
		}
	}
}

func TestLinearizableModel(t *testing.T) {
	ms := int64(time.Millisecond)
	cases := []struct {
		name  string
		h     *hb
		valid bool
	}{
		{"read own write", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Get, "k", "", 3*ms, 4*ms, history.OK, read("a")), true},
		{"read absent after acknowledged write", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 3*ms, 4*ms, history.OK, read("")), false},
		{"concurrent read may see either", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 5*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 2*ms, 3*ms, history.OK, read("")).
			op("c2", history.Get, "k", "", 2*ms, 3*ms, history.OK, read("a")), true},
		{"read goes back in time", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 5*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 2*ms, 3*ms, history.OK, read("a")).
			op("c2", history.Get, "k", "", 4*ms, 4*ms+1, history.OK, read("")), false},
		{"unknown write may appear late", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Put, "k", "b", 3*ms, 4*ms, history.Info, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("a")).
			op("c1", history.Get, "k", "", 7*ms, 8*ms, history.OK, read("b")), true},
		{"failed write never appears", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.Fail, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("a")), false},
		{"delete of a present object", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Delete, "k", "", 3*ms, 4*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("")), true},
		{"delete says absent but object was there", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Delete, "k", "", 3*ms, 4*ms, history.OK, read("")), false},
		{"blind delete of an absent object (S3 answers 204 anyway)", new(hb).
			op("c0", history.Delete, "k", "", 1*ms, 2*ms, history.OK, func(e *history.Event) { e.Blind = true }).
			op("c1", history.Get, "k", "", 3*ms, 4*ms, history.OK, read("")), true},
		{"blind delete still removes", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Delete, "k", "", 3*ms, 4*ms, history.OK, func(e *history.Event) { e.Blind = true }).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("a")), false},
		{"cas from the current value", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 3*ms, 4*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("b")), true},
		{"cas succeeded against a stale value", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Put, "k", "x", 3*ms, 4*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 5*ms, 6*ms, history.OK, nil), false},
		{"cas refused although the value matched", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 3*ms, 4*ms, history.Fail, func(e *history.Event) { e.Code = "PreconditionFailed" }), false},
		{"cas refused by a 404: the object was deleted", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c1", history.Delete, "k", "", 3*ms, 4*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 5*ms, 6*ms, history.Fail, func(e *history.Event) { e.Code = "NoSuchKey" }), true},
		{"cas refused by a 404 while the object existed", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 3*ms, 4*ms, history.Fail, func(e *history.Event) { e.Code = "NoSuchKey" }), false},
		{"cas refused concurrently with the write it expects", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 5*ms, history.OK, nil).
			op("c1", history.CAS, "k", "b", 2*ms, 3*ms, history.Fail, func(e *history.Event) { e.Code = "PreconditionFailed" }).
			op("c2", history.Get, "k", "", 6*ms, 7*ms, history.OK, read("a")), true},
		{"cas of unknown outcome may have taken effect", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 3*ms, 4*ms, history.Info, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("b")), true},
		{"cas of unknown outcome may have had no effect", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 3*ms, 4*ms, history.Info, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("a")).
			op("c1", history.Put, "k", "x", 7*ms, 8*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 9*ms, 10*ms, history.OK, read("x")), true},
		{"cas of unknown outcome cannot take effect from the wrong state", new(hb).
			op("c0", history.Put, "k", "x", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.CAS, "k", "b", 3*ms, 4*ms, history.Info, nil).
			op("c1", history.Get, "k", "", 5*ms, 6*ms, history.OK, read("b")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// cas expects "a" in every case above.
			for i := range tc.h.ev {
				if tc.h.ev[i].F == history.CAS && tc.h.ev[i].Type == history.Invoke {
					tc.h.ev[i].Expect = "a"
				}
			}
			r := Linearizable(ops(t, tc.h.ev), "", 10*time.Second)
			if r.Valid != tc.valid {
				t.Fatalf("valid = %v, want %v:\n%s", r.Valid, tc.valid, r)
			}
		})
	}
}

func TestListing(t *testing.T) {
	ms := int64(time.Millisecond)
	cases := []struct {
		name string
		h    *hb
		want string // "" = valid; else a word in the anomaly
	}{
		{"complete", new(hb).
			op("c0", history.Put, "p/a", "1", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.List, "", "", 3*ms, 4*ms, history.OK, listed("p/", "p/a")), ""},
		{"lost key", new(hb).
			op("c0", history.Put, "p/a", "1", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.List, "", "", 3*ms, 4*ms, history.OK, listed("p/")), "LOST"},
		{"key of an unknown delete may be missing", new(hb).
			op("c0", history.Put, "p/a", "1", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Delete, "p/a", "", 3*ms, 4*ms, history.Info, nil).
			op("c1", history.List, "", "", 5*ms, 6*ms, history.OK, listed("p/")), ""},
		{"phantom never written", new(hb).
			op("c0", history.List, "", "", 3*ms, 4*ms, history.OK, listed("p/", "p/zz")), "PHANTOM"},
		{"phantom deleted", new(hb).
			op("c0", history.Put, "p/a", "1", 1*ms, 2*ms, history.OK, nil).
			op("c0", history.Delete, "p/a", "", 3*ms, 4*ms, history.OK, nil).
			op("c0", history.List, "", "", 5*ms, 6*ms, history.OK, listed("p/", "p/a")), "PHANTOM"},
		{"concurrent put may be missing", new(hb).
			op("c0", history.Put, "p/a", "1", 1*ms, 6*ms, history.OK, nil).
			op("c1", history.List, "", "", 2*ms, 3*ms, history.OK, listed("p/")), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Listing(ops(t, tc.h.ev))
			if tc.want == "" && !r.Valid || tc.want != "" && (r.Valid || !strings.Contains(r.Anomalies[0], tc.want)) {
				t.Fatalf("want %q:\n%s", tc.want, r)
			}
		})
	}
}

func TestEpochs(t *testing.T) {
	ms := int64(time.Millisecond)
	seen := func(s ...history.EpochSeen) func(*history.Event) {
		return func(e *history.Event) { e.Epochs = s }
	}
	cases := []struct {
		name  string
		h     *hb
		valid bool
	}{
		{"monotonic", new(hb).
			op("c0", history.Get, "k", "", 1*ms, 2*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.51:8080", Epoch: 5, Status: 307, Time: 1 * ms},
				history.EpochSeen{Node: "10.77.0.21:9080", Epoch: 5, Signed: 5, Status: 200, Time: 2 * ms})).
			op("c0", history.Get, "k", "", 3*ms, 4*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.51:8080", Epoch: 6, Status: 307, Time: 3 * ms})), true},
		{"gateway goes back", new(hb).
			op("c0", history.Get, "k", "", 1*ms, 2*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.51:8080", Epoch: 6, Status: 307, Time: 1 * ms})).
			op("c0", history.Get, "k", "", 3*ms, 4*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.51:8080", Epoch: 5, Status: 307, Time: 3 * ms})), false},
		{"back after a restart is allowed", new(hb).
			op("c0", history.Get, "k", "", 1*ms, 2*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.51:8080", Epoch: 6, Status: 307, Time: 1 * ms})).
			nemesis(history.Event{Time: 2*ms + 1, F: history.FaultStop, Fault: "kill-gateway", Restarted: []string{"10.77.0.51"}}).
			op("c0", history.Get, "k", "", 3*ms, 4*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.51:8080", Epoch: 5, Status: 307, Time: 3 * ms})), true},
		{"target below the signed epoch", new(hb).
			op("c0", history.Get, "k", "", 1*ms, 2*ms, history.OK, seen(
				history.EpochSeen{Node: "10.77.0.21:9080", Epoch: 4, Signed: 5, Status: 200, Time: 2 * ms})), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Epochs(tc.h.ev, ops(t, tc.h.ev))
			if r.Valid != tc.valid {
				t.Fatalf("valid = %v, want %v:\n%s", r.Valid, tc.valid, r)
			}
		})
	}
}

func TestIntegrityAndCorruption(t *testing.T) {
	ms := int64(time.Millisecond)
	corrupt := func(e *history.Event) { e.Code = "Corrupt" }
	damage := history.Event{Time: 3 * ms, F: history.FaultStart, Fault: FaultCorrupt, Key: "k"}
	damaged := history.Event{Time: 3*ms + 10, F: history.FaultStop, Fault: FaultCorrupt, Key: "k"}
	cases := []struct {
		name        string
		h           *hb
		integrity   bool
		corruptionK bool
	}{
		{"damage reported", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			nemesis(damage).nemesis(damaged).
			op("c1", history.Get, "k", "", 4*ms, 5*ms, history.Fail, corrupt).
			op("final", history.Get, "k", "", 6*ms, 7*ms, history.Fail, corrupt), true, true},
		{"damaged bytes served", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			nemesis(damage).nemesis(damaged).
			op("c1", history.Get, "k", "", 4*ms, 5*ms, history.OK, func(e *history.Event) { e.Bad = "sha256 mismatch" }).
			op("final", history.Get, "k", "", 6*ms, 7*ms, history.Fail, corrupt), false, false},
		{"damage not reported at the end", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			nemesis(damage).nemesis(damaged).
			op("final", history.Get, "k", "", 6*ms, 7*ms, history.OK, read("")), true, false},
		{"read racing the damage is exempt", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			op("c1", history.Get, "k", "", 2*ms, 3*ms+5, history.OK, func(e *history.Event) { e.Bad = "DAMAGED" }).
			nemesis(damage).nemesis(damaged).
			op("final", history.Get, "k", "", 6*ms, 7*ms, history.Fail, corrupt), true, true},
		{"overwrite after damage heals it", new(hb).
			op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
			nemesis(damage).nemesis(damaged).
			op("c0", history.Put, "k", "b", 4*ms, 5*ms, history.OK, nil).
			op("final", history.Get, "k", "", 6*ms, 7*ms, history.OK, read("b")), true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := ops(t, tc.h.ev)
			if r := Integrity(tc.h.ev, o); r.Valid != tc.integrity {
				t.Errorf("integrity valid = %v, want %v:\n%s", r.Valid, tc.integrity, r)
			}
			if r := Corruption(tc.h.ev, o, "final"); r.Valid != tc.corruptionK {
				t.Errorf("corruption valid = %v, want %v:\n%s", r.Valid, tc.corruptionK, r)
			}
		})
	}
}

// TestLedgerDamaged: a damaged key whose final read is Corrupt passes the ledger only when the
// key is known to be damaged (an unknown delete before the damage made it "maybe undone").
func TestLedgerDamaged(t *testing.T) {
	ms := int64(time.Millisecond)
	h := new(hb).
		op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil).
		op("c0", history.Delete, "k", "", 3*ms, 4*ms, history.Info, nil).
		op("c0", history.Put, "k", "b", 5*ms, 6*ms, history.OK, nil).
		nemesis(history.Event{Time: 7 * ms, F: history.FaultStart, Fault: FaultCorrupt, Key: "k"}).
		nemesis(history.Event{Time: 8 * ms, F: history.FaultStop, Fault: FaultCorrupt, Key: "k"}).
		op("final-0", history.Get, "k", "", 9*ms, 10*ms, history.Fail, func(e *history.Event) { e.Code = "Corrupt" })
	o := ops(t, h.ev)
	if r := Ledger(o, "final", DamageTargets(h.ev)); !r.Valid {
		t.Errorf("damaged key reported Corrupt at the end:\n%s", r)
	}
	if r := Ledger(o, "final", nil); r.Valid {
		t.Errorf("a Corrupt final read of a key not known to be damaged passed the ledger")
	}
}

func TestRestored(t *testing.T) {
	ms := int64(time.Millisecond)
	corrupt := func(e *history.Event) { e.Code = "Corrupt" }
	damage := history.Event{Time: 3 * ms, F: history.FaultStart, Fault: FaultCorruptCopy, Key: "k"}
	damaged := history.Event{Time: 3*ms + 10, F: history.FaultStop, Fault: FaultCorruptCopy, Key: "k"}
	put := func() *hb { return new(hb).op("c0", history.Put, "k", "a", 1*ms, 2*ms, history.OK, nil) }
	cases := []struct {
		name  string
		h     *hb
		valid bool
	}{
		{"restored bytes served", put().nemesis(damage).nemesis(damaged).
			op("c1", history.Get, "k", "", 4*ms, 5*ms, history.OK, read("a")).
			op("final-0", history.Get, "k", "", 6*ms, 7*ms, history.OK, read("a")), true},
		{"Corrupt although a copy was left", put().nemesis(damage).nemesis(damaged).
			op("c1", history.Get, "k", "", 4*ms, 5*ms, history.Fail, corrupt).
			op("final-0", history.Get, "k", "", 6*ms, 7*ms, history.OK, read("a")), false},
		{"final read Corrupt", put().nemesis(damage).nemesis(damaged).
			op("final-0", history.Get, "k", "", 6*ms, 7*ms, history.Fail, corrupt), false},
		{"a read before the damage may say anything", put().
			op("c1", history.Get, "k", "", 2*ms+1, 3*ms, history.Fail, corrupt).
			nemesis(damage).nemesis(damaged).
			op("final-0", history.Get, "k", "", 6*ms, 7*ms, history.OK, read("a")), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := ops(t, tc.h.ev)
			if r := Restored(tc.h.ev, o, "final"); r.Valid != tc.valid {
				t.Fatalf("valid = %v, want %v:\n%s", r.Valid, tc.valid, r)
			}
			if r := Corruption(tc.h.ev, o, "final"); !r.Valid {
				t.Fatalf("a restorable damage is not Corruption's:\n%s", r)
			}
			if r := Ledger(o, "final", DamageTargets(tc.h.ev)); r.Valid != (tc.valid || tc.name != "final read Corrupt") {
				t.Fatalf("ledger: %s", r)
			}
		})
	}
}

func TestRecovery(t *testing.T) {
	ev := new(hb).
		nemesis(history.Event{Time: 1, F: history.Recovered, Fault: "kill-target", Millis: 800}).
		nemesis(history.Event{Time: 2, F: history.Unrecovered, Fault: "partition", Millis: 60000, Description: "t1 not active"}).ev
	r, times := Recovery(ev)
	if r.Valid || r.Count != 1 || len(times) != 1 || times[0] != 800*time.Millisecond {
		t.Fatalf("want one recovery of 800ms and one failure: %v\n%s", times, r)
	}
}
