package raftfsm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisfoundry/ais/meta"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readLog reads a command log: one JSON command per line; blank lines and '#' lines are
// skipped. It returns the encoded commands.
func readLog(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var c Command
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		out = append(out, Encode(c))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// resultLine is one Result as the golden files show it.
type resultLine struct {
	Index   uint64       `json:"index"`
	Op      Op           `json:"op"`
	Epoch   uint64       `json:"epoch"`
	Changed bool         `json:"changed,omitempty"`
	Err     string       `json:"err,omitempty"`
	Node    *meta.Node   `json:"node,omitempty"`
	Bucket  *meta.Bucket `json:"bucket,omitempty"`
	Lease   *meta.Lease  `json:"lease,omitempty"`
}

// run applies a log to a new machine (indexes from 1) and returns the machine and the
// transcript: one line per result, then the dump.
func run(t *testing.T, log [][]byte) (*Machine, []byte) {
	t.Helper()
	m := New()
	var buf bytes.Buffer
	for i, data := range log {
		idx := uint64(i + 1)
		c, _ := Decode(data)
		r := m.Apply(idx, data)
		checkResult(t, m, r)
		rl := resultLine{Index: idx, Op: c.Op, Epoch: r.Epoch, Changed: r.Changed, Node: r.Node, Bucket: r.Bucket, Lease: r.Lease}
		if r.Err != nil {
			rl.Err = r.Err.Error()
		}
		line, err := json.Marshal(rl)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	buf.WriteString("--- dump\n")
	buf.Write(m.Dump())
	return m, buf.Bytes()
}

// checkResult holds for every result: failures are meta sentinels and change nothing.
func checkResult(t *testing.T, m *Machine, r Result) {
	t.Helper()
	if r.Err != nil {
		var me *meta.Error
		if !errors.As(r.Err, &me) {
			t.Errorf("error %v wraps no meta sentinel", r.Err)
		}
		if r.Changed {
			t.Errorf("failed command %v reports a change", r.Err)
		}
	}
	if r.Epoch != m.View().Epoch {
		t.Errorf("result epoch %d, view epoch %d", r.Epoch, m.View().Epoch)
	}
}

func logs(t *testing.T) []string {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.cmds"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no command logs in testdata: %v", err)
	}
	return paths
}

func TestGolden(t *testing.T) {
	for _, path := range logs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, got := run(t, readLog(t, path))
			golden := strings.TrimSuffix(path, ".cmds") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestReplay: the same log gives the same state, whether all logs run into one machine or not.
func TestReplay(t *testing.T) {
	var all [][]byte
	for _, path := range logs(t) {
		all = append(all, readLog(t, path)...)
	}
	a, _ := run(t, all)
	b, _ := run(t, all)
	if diff := cmp.Diff(string(a.Dump()), string(b.Dump())); diff != "" {
		t.Fatalf("replay differs:\n%s", diff)
	}
}

// TestSnapshotRestore: at every point of every log, a snapshot restores to the same dump, and
// the restored machine applies the rest of the log to the same final state.
func TestSnapshotRestore(t *testing.T) {
	for _, path := range logs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			log := readLog(t, path)
			want, _ := run(t, log)
			for cut := 0; cut <= len(log); cut++ {
				m := New()
				for i := 0; i < cut; i++ {
					m.Apply(uint64(i+1), log[i])
				}
				r, err := Restore(m.EncodeSnapshot())
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if diff := cmp.Diff(string(m.Dump()), string(r.Dump())); diff != "" {
					t.Fatalf("cut %d: restored dump differs:\n%s", cut, diff)
				}
				for i := cut; i < len(log); i++ {
					r.Apply(uint64(i+1), log[i])
				}
				if diff := cmp.Diff(string(want.Dump()), string(r.Dump())); diff != "" {
					t.Fatalf("cut %d: final dump after restore differs:\n%s", cut, diff)
				}
			}
		})
	}
}

func TestApplyPanicsOnUndecodable(t *testing.T) {
	good := Encode(Command{Op: OpBucketCreate, Time: 1, Bucket: "abc"})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"future version", append([]byte{CommandVersion + 1}, good[1:]...)},
		{"version zero", append([]byte{0}, good[1:]...)},
		{"not JSON", []byte{CommandVersion, '{', 'x'}},
		{"unknown field", append([]byte{CommandVersion}, `{"op":"bucket.create","time":1,"bucket":"abc","colour":"red"}`...)},
		{"unknown op", append([]byte{CommandVersion}, `{"op":"bucket.rename","time":1}`...)},
		{"trailing data", append(append([]byte(nil), good...), `{}`...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			before := m.Dump()
			defer func() {
				if recover() == nil {
					t.Fatal("Apply did not panic")
				}
				if !bytes.Equal(before, m.Dump()) {
					t.Fatal("state changed before the panic")
				}
			}()
			m.Apply(1, tc.data)
		})
	}
}

func TestRestoreRejects(t *testing.T) {
	snap := New().EncodeSnapshot()
	for name, data := range map[string][]byte{
		"empty":          nil,
		"future version": append([]byte{SnapshotVersion + 1}, snap[1:]...),
		"not JSON":       {SnapshotVersion, 'x'},
		"unknown field":  append([]byte{SnapshotVersion}, `{"applied":1,"view":{},"leases":{},"extra":1}`...),
		"no view":        append([]byte{SnapshotVersion}, `{"applied":1}`...),
	} {
		if _, err := Restore(data); err == nil {
			t.Errorf("%s: Restore accepted it", name)
		}
	}
}

// TestPublishedViewIsImmutable: a change installs a new view and leaves the old one alone.
func TestPublishedViewIsImmutable(t *testing.T) {
	m := New()
	m.Apply(1, Encode(Command{Op: OpBucketCreate, Time: 1, Bucket: "one"}))
	old := m.View()
	oldDump, _ := json.Marshal(old)
	m.Apply(2, Encode(Command{Op: OpBucketCreate, Time: 2, Bucket: "two"}))
	m.Apply(3, Encode(Command{Op: OpBucketProps, Time: 3, Bucket: "one", Patch: json.RawMessage(`{"versioning":false}`)}))
	m.Apply(4, Encode(Command{Op: OpNodeJoin, Time: 4, Node: &meta.Node{ID: "g", Role: meta.RoleGateway, PublicURL: "http://h:1"}}))
	if after, _ := json.Marshal(old); !bytes.Equal(oldDump, after) {
		t.Fatalf("published view changed in place:\n%s\n%s", oldDump, after)
	}
	if m.View().Epoch != old.Epoch+3 {
		t.Fatalf("epoch %d, want %d", m.View().Epoch, old.Epoch+3)
	}
}

func TestBucketIDChangesOnRecreate(t *testing.T) {
	m := New()
	r1 := m.Apply(10, Encode(Command{Op: OpBucketCreate, Time: 1, Bucket: "data"}))
	m.Apply(11, Encode(Command{Op: OpBucketDestroy, Time: 2, Bucket: "data"}))
	r2 := m.Apply(12, Encode(Command{Op: OpBucketCreate, Time: 3, Bucket: "data"}))
	if r1.Err != nil || r2.Err != nil || r1.Bucket.ID == r2.Bucket.ID {
		t.Fatalf("IDs %v/%v (errs %v, %v): want two different IDs", r1.Bucket, r2.Bucket, r1.Err, r2.Err)
	}
}

func TestLeaseTokenGrowsOnRegrant(t *testing.T) {
	m := New()
	grant := func(idx uint64, now int64, holder string) Result {
		return m.Apply(idx, Encode(Command{Op: OpLeaseGrant, Time: now,
			Lease: &LeaseArgs{JobID: "j", Kind: "k", Holder: holder, TTL: 10}}))
	}
	r1 := grant(5, 100, "a")
	if r := grant(6, 105, "b"); !errors.Is(r.Err, meta.ErrLeaseHeld) {
		t.Fatalf("grant while held: %v, want ErrLeaseHeld", r.Err)
	}
	r3 := grant(7, 111, "b")
	if r1.Err != nil || r3.Err != nil || r3.Lease.Token <= r1.Lease.Token {
		t.Fatalf("tokens %v then %v (errs %v, %v): want a larger token after expiry", r1.Lease, r3.Lease, r1.Err, r3.Err)
	}
	if r := m.Apply(8, Encode(Command{Op: OpLeaseRenew, Time: 112,
		Lease: &LeaseArgs{JobID: "j", Holder: "b", Token: r1.Lease.Token}})); !errors.Is(r.Err, meta.ErrStaleToken) {
		t.Fatalf("renew with old token: %v, want ErrStaleToken", r.Err)
	}
}
