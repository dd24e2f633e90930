package target

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// copyRequest builds the PUT of a copy to the data listener, as a rebalance sends it.
func copyRequest(t *testing.T, base, name, data string, version uint64, mtime int64, hdr ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, internalObjectURL(base, rebalancePrefix, "bkt", name), strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h, err := codec.NewHash(meta.ChecksumHighway)
	if err != nil {
		t.Fatal(err)
	}
	h.Write([]byte(data))
	m := &ObjectMeta{Name: name, BucketID: 1, Version: version, Mtime: mtime, ChecksumType: meta.ChecksumHighway,
		Checksum: h.Sum(nil), Custom: map[string]string{"k": "v"}}
	setCopyHeaders(req.Header, m)
	req.Header.Set(api.HeaderEpoch, "5")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

func TestReceiveCopy(t *testing.T) {
	tt := newTestTarget(t)
	data := httptest.NewServer(tt.srv.DataHandler())
	defer data.Close()
	mine := tt.ownedBy(t, "t1", "mine-")
	theirs := tt.ownedBy(t, "t2", "theirs-")
	deleted := tt.ownedBy(t, "t1", "deleted-")
	tt.srv.reb.tombs.add(testBucket("bkt", 1, ""), deleted, stamp{Epoch: 5, Version: 3, Mtime: 1}, time.Now())

	steps := []struct {
		name    string
		req     *http.Request
		status  int
		outcome string
		code    string
	}{
		{"a new copy is stored", copyRequest(t, data.URL, mine, "v2 bytes", 2, 200), 200, "stored", ""},
		{"the same version again is kept", copyRequest(t, data.URL, mine, "v2 bytes", 2, 200), 200, "kept", ""},
		{"an older version is kept out", copyRequest(t, data.URL, mine, "v1", 1, 100), 200, "kept", ""},
		{"a newer version replaces it", copyRequest(t, data.URL, mine, "v3 bytes!", 3, 300), 200, "stored", ""},
		{"a deleted object stays deleted", copyRequest(t, data.URL, deleted, "zombie", 9, 900), 200, "refused", ""},
		{"another owner's object: stale epoch", copyRequest(t, data.URL, theirs, "x", 1, 1), 421, "", "StaleEpoch"},
		{"a gone bucket: refused", copyRequest(t, data.URL, mine, "x", 9, 9, headerBucketID, "77"), 200, "refused", ""},
		{"a bad checksum", copyRequest(t, data.URL, mine, "v4 bytes", 4, 400, api.HeaderChecksumValue, strings.Repeat("00", 32)), 400, "", "BadDigest"},
		{"fencing: token 7", copyRequest(t, data.URL, mine, "v5", 5, 500, headerLease, "reb@t2", headerToken, "7"), 200, "stored", ""},
		{"fencing: an older token", copyRequest(t, data.URL, mine, "v6", 6, 600, headerLease, "reb@t2", headerToken, "6"), 409, "", "StaleToken"},
		{"no version", copyRequest(t, data.URL, mine, "v6", 6, 600, api.HeaderVersion, ""), 400, "", "InvalidRequest"},
	}
	for _, s := range steps {
		resp, body := do(t, s.req)
		if resp.StatusCode != s.status || resp.Header.Get(headerOutcome) != s.outcome {
			t.Fatalf("%s: %s outcome %q (%s), want %d %q", s.name, resp.Status, resp.Header.Get(headerOutcome), body, s.status, s.outcome)
		}
		if s.code != "" && resp.Header.Get(api.HeaderErrorCode) != s.code {
			t.Fatalf("%s: code %q, want %q", s.name, resp.Header.Get(api.HeaderErrorCode), s.code)
		}
	}
	got, m := mustRead(t, tt.srv.store, testBucket("bkt", 1, ""), mine)
	if got != "v5" || m.Version != 5 || m.Mtime != 500 || m.Custom["k"] != "v" {
		t.Fatalf("stored %q version %d mtime %d custom %v; want the copy's", got, m.Version, m.Mtime, m.Custom)
	}
	if _, _, err := readObject(tt.srv.store, testBucket("bkt", 1, ""), deleted); err == nil {
		t.Fatal("a deleted object came back")
	}
	// The refused copy counts as found for the delete that left the tombstone (its sender drops
	// it; CI: a DELETE during a rebalance answered 404 for an object written before it).
	tombs := tt.srv.reb.tombs
	if !tombs.hit(testBucket("bkt", 1, ""), deleted, stamp{Epoch: 5, Mtime: 1}) {
		t.Fatal("a copy refused under a tombstone left no hit on it")
	}
	if ts, _ := tombs.get(testBucket("bkt", 1, ""), deleted); ts.Stamp.Version != 9 {
		t.Fatalf("tombstone version %d after refusing version 9, want 9", ts.Stamp.Version)
	}
	if tombs.hit(testBucket("bkt", 1, ""), deleted, stamp{Epoch: 5, Mtime: 2}) {
		t.Fatal("a hit counts for a later delete of the same object")
	}
}

func TestServeAndDropCopy(t *testing.T) {
	tt := newTestTarget(t)
	data := httptest.NewServer(tt.srv.DataHandler())
	defer data.Close()
	// Any copy is served, whoever owns the object.
	name := tt.ownedBy(t, "t2", "x-")
	b := testBucket("bkt", 1, "")
	mustPut(t, tt.srv.store, b, name, "hello")
	u := internalObjectURL(data.URL, copiesPrefix, "bkt", name) + "?bucket_id=1"
	resp, body := do(t, mustRequest(t, http.MethodGet, u))
	if resp.StatusCode != 200 || body != "hello" || resp.Header.Get(api.HeaderVersion) != "1" {
		t.Fatalf("GET copy: %s %q %v", resp.Status, body, resp.Header)
	}
	if resp, _ := do(t, mustRequest(t, http.MethodGet, internalObjectURL(data.URL, copiesPrefix, "bkt", name)+"?bucket_id=2")); resp.StatusCode != 404 {
		t.Fatalf("GET copy of another bucket ID: %s", resp.Status)
	}
	if resp, _ := do(t, mustRequest(t, http.MethodDelete, u)); resp.StatusCode != 200 {
		t.Fatalf("DELETE copy: %s", resp.Status)
	}
	if resp, _ := do(t, mustRequest(t, http.MethodHead, u)); resp.StatusCode != 404 {
		t.Fatalf("HEAD after DELETE: %s", resp.Status)
	}
	if resp, _ := do(t, mustRequest(t, http.MethodDelete, u)); resp.StatusCode != 404 {
		t.Fatalf("second DELETE: %s", resp.Status)
	}
}

func TestWalkAndRemoveCopy(t *testing.T) {
	mps := tempMountpaths(t, 2)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	other := testBucket("old", 2, "")
	want := map[string]bool{}
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("d%d/o%d", i%5, i)
		mustPut(t, s, b, name, strings.Repeat("x", i))
		want[name] = true
	}
	mustPut(t, s, other, "elsewhere", "y")
	got := map[string]balancer.Item{}
	if err := s.Walk(context.Background(), func(it balancer.Item) error {
		if it.BucketKey == "ais/bkt" {
			got[it.Name] = it
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("walked %d objects of bkt, want %d", len(got), len(want))
	}
	for name, it := range got {
		if it.Mountpath != meta.Mountpath(it.Key(), mps) || it.Version != 1 || it.BucketID != 1 {
			t.Fatalf("item %+v", it)
		}
		_ = name
	}
	it := got["d1/o1"]
	// A copy replaced since it was walked is not removed.
	mustPut(t, s, b, "d1/o1", "new")
	if err := s.RemoveCopy(it.Mountpath, b, it.Name, it.Version, it.Mtime, false); err != nil {
		t.Fatal(err)
	}
	if data, _ := mustRead(t, s, b, "d1/o1"); data != "new" {
		t.Fatalf("replaced copy removed: %q", data)
	}
	it = got["d2/o2"]
	if err := s.RemoveCopy(it.Mountpath, b, it.Name, it.Version, it.Mtime, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readObject(s, b, "d2/o2"); err == nil {
		t.Fatal("copy not removed")
	}
}

// TestResilverDetachInProcess: with two mountpaths, one is detached; until the resilver has run
// every object still reads, lists once and deletes; afterwards all sit on the other one.
func TestResilverDetachInProcess(t *testing.T) {
	tt := newTestTarget(t)
	s := tt.srv.store
	b := testBucket("bkt", 1, "")
	const n = 200
	for i := 0; i < n; i++ {
		mustPut(t, s, b, fmt.Sprintf("o%03d", i), strconv.Itoa(i))
	}
	gone := tt.mps[1]
	if _, err := s.changeMountpaths(api.MountpathDetach, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := s.changeMountpaths(api.MountpathDetach, tt.mps[0]); err == nil {
		t.Fatal("detached the last mountpath in use")
	}
	for i := 0; i < n; i++ {
		if data, _ := mustRead(t, s, b, fmt.Sprintf("o%03d", i)); data != strconv.Itoa(i) {
			t.Fatalf("o%03d reads %q before the resilver", i, data)
		}
	}
	ms, _, err := s.List(context.Background(), b, ListArgs{Limit: 1000})
	if err != nil || len(ms) != n {
		t.Fatalf("list before the resilver: %d entries, %v", len(ms), err)
	}
	if err := s.Delete(b, "o007", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readObject(s, b, "o007"); err == nil {
		t.Fatal("o007 still reads after its delete")
	}
	j, err := tt.srv.startResilver("resilver-test")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-j.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("resilver did not end")
	}
	if st := j.Status(); st.State != meta.JobFinished {
		t.Fatalf("resilver %s: %s", st.State, st.Error)
	}
	st := s.mountpathState()
	if len(st.Active) != 1 || len(st.Draining) != 0 {
		t.Fatalf("mountpaths after the resilver: %+v", st)
	}
	left := 0
	_ = filepath.Walk(filepath.Join(gone, "@ais"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			left++
		}
		return nil
	})
	if left != 0 {
		t.Fatalf("%d files left on the detached mountpath", left)
	}
	for i := 0; i < n; i++ {
		if i == 7 {
			continue
		}
		if data, _ := mustRead(t, s, b, fmt.Sprintf("o%03d", i)); data != strconv.Itoa(i) {
			t.Fatalf("o%03d reads %q after the resilver", i, data)
		}
	}
}

// TestRebalanceCoalescesAndSupersedes: placement changes in quick succession start one job,
// named after the last of them; a later change supersedes it.
func TestRebalanceCoalescesAndSupersedes(t *testing.T) {
	tt := newTestTarget(t)
	r := tt.srv.reb
	r.cfg.Delay = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	defer func() { cancel(); <-done; tt.srv.jobs.Close() }()

	withTargets := func(epoch uint64, ids ...string) *meta.Snapshot {
		s := testSnapshot(epoch, testBucket("bkt", 1, ""))
		for _, id := range ids {
			s.Nodes[id] = meta.Node{ID: id, Role: meta.RoleTarget, State: meta.NodeActive, PublicURL: "http://" + id + ":1"}
		}
		return s
	}
	f := tt.srv.Follower()
	f.Store(withTargets(6, "t3"))
	f.Store(withTargets(7, "t3", "t4"))
	f.Store(withTargets(8, "t3", "t4", "t5"))
	waitJobs := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var ids []string
			for _, st := range tt.srv.jobs.List(meta.JobRebalance) {
				ids = append(ids, st.ID+":"+string(st.State))
			}
			if strings.Join(ids, " ") == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("jobs %v, want %s", ids, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(2 * r.cfg.Delay)
	var running []string
	for _, st := range tt.srv.jobs.List(meta.JobRebalance) {
		if st.State == meta.JobRunning {
			running = append(running, st.ID)
		}
		if st.ID == "rebalance-6" || st.ID == "rebalance-7" {
			t.Fatalf("a job for a placement that lasted a moment: %s", st.ID)
		}
	}
	if strings.Join(running, " ") != "rebalance-8" {
		t.Fatalf("running %v, want only rebalance-8", running)
	}
	f.Store(withTargets(9, "t3"))
	waitJobs("rebalance-8:superseded rebalance-9:running")
}

// TestCopyOrderByWriteEpoch: the order of copies is cluster-wide (write epoch, then version,
// then mtime), not the per-target version counter. A returning owner's older copy with a
// higher version must not win over the write acknowledged by a temporary owner at a later
// epoch (chaos bug 2), and an older epoch's copy is kept out whatever its version.
func TestCopyOrderByWriteEpoch(t *testing.T) {
	tt := newTestTarget(t)
	data := httptest.NewServer(tt.srv.DataHandler())
	defer data.Close()
	name := tt.ownedBy(t, "t1", "ret-")
	steps := []struct {
		what    string
		data    string
		epoch   string
		version uint64
		outcome string
	}{
		{"the returning owner's copy, epoch 3, version 7", "old owner v7", "3", 7, "stored"},
		{"the temporary owner's write at epoch 4, version 1", "interim v1", "4", 1, "stored"},
		{"an epoch-3 copy with a higher version is kept out", "old owner v9", "3", 9, "kept"},
		{"the same epoch, a higher version wins", "interim v2", "4", 2, "stored"},
	}
	for _, s := range steps {
		resp, body := do(t, copyRequest(t, data.URL, name, s.data, s.version, 100, headerWEpoch, s.epoch))
		if resp.StatusCode != 200 || resp.Header.Get(headerOutcome) != s.outcome {
			t.Fatalf("%s: %s outcome %q (%s), want %q", s.what, resp.Status, resp.Header.Get(headerOutcome), body, s.outcome)
		}
	}
	got, m := mustRead(t, tt.srv.store, testBucket("bkt", 1, ""), name)
	if got != "interim v2" || m.Version != 2 {
		t.Fatalf("stored %q version %d, want the epoch-4 write \"interim v2\"", got, m.Version)
	}
}

// TestWalkDirObjects: S3 "directory" pairs ("a" and "a/b": the object "a" lives at a/\xff,
// dirobj.go) are walked once each under their own names, and a walked copy opens, sends and
// removes by its name; a receiver stores such pairs either way round.
func TestWalkDirObjects(t *testing.T) {
	tt := newTestTarget(t)
	s := tt.srv.store
	b := testBucket("bkt", 1, "")
	names := []string{"a", "a/b", "x/y/z", "x/y", "x", "p/q"}
	for _, n := range names {
		mustPut(t, s, b, n, "data of "+n)
	}
	got := map[string]balancer.Item{}
	if err := s.Walk(context.Background(), func(it balancer.Item) error {
		if _, dup := got[it.Name]; dup {
			t.Errorf("walked %q twice", it.Name)
		}
		got[it.Name] = it
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		it, ok := got[n]
		if !ok {
			t.Fatalf("walk missed %q (walked %v)", n, sortedNames(got))
		}
		o, err := s.OpenCopy(it.Mountpath, b, it.Name)
		if err != nil {
			t.Fatalf("open the walked copy of %q: %v", n, err)
		}
		if o.Meta.Name != n || o.Meta.Size != int64(len("data of "+n)) {
			t.Fatalf("the walked copy of %q opens %q (%d bytes)", n, o.Meta.Name, o.Meta.Size)
		}
		_ = o.Close()
	}
	if len(got) != len(names) {
		t.Fatalf("walked %v, want %v", sortedNames(got), names)
	}
	// Removing the escaped "x" leaves "x/y" and "x/y/z".
	it := got["x"]
	if err := s.RemoveCopy(it.Mountpath, b, "x", it.Version, it.Mtime, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readObject(s, b, "x"); err == nil {
		t.Fatal(`"x" still reads after its copy was removed`)
	}
	for _, n := range []string{"x/y", "x/y/z"} {
		if data, _ := mustRead(t, s, b, n); data != "data of "+n {
			t.Fatalf("%q reads %q after removing \"x\"", n, data)
		}
	}

	// A receiver gets "d" while it holds "d/e", and "f/g" while it holds "f".
	data := httptest.NewServer(tt.srv.DataHandler())
	defer data.Close()
	d := tt.ownedBy(t, "t1", "d")    // receives "d" while it holds "d/e"
	fg := tt.ownedBy(t, "t1", "f/g") // receives "f/g<i>" while it holds "f"
	f := "f"
	mustPut(t, s, b, d+"/e", "child")
	mustPut(t, s, b, f, "parent")
	for _, c := range []struct{ name, data string }{{d, "dir object"}, {fg, "child of f"}} {
		resp, body := do(t, copyRequest(t, data.URL, c.name, c.data, 3, 300, headerWEpoch, "5"))
		if resp.StatusCode != 200 || resp.Header.Get(headerOutcome) != "stored" {
			t.Fatalf("copy of %q: %s %q (%s)", c.name, resp.Status, resp.Header.Get(headerOutcome), body)
		}
		if got, _ := mustRead(t, s, b, c.name); got != c.data {
			t.Fatalf("%q reads %q after the copy", c.name, got)
		}
	}
	for n, want := range map[string]string{d + "/e": "child", f: "parent"} {
		if got, _ := mustRead(t, s, b, n); got != want {
			t.Fatalf("%q reads %q after its sibling's copy", n, got)
		}
	}
}

func sortedNames(m map[string]balancer.Item) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestPlacementComingBackIsUnsettled: a placement that was settled, changed (a target down) and
// came back (the target active again) is not settled any more: the other targets accepted
// writes meanwhile (chaos: a resumed owner answered 404 for an object written elsewhere while
// it was paused). An epoch jump with the same placement unsettles too.
func TestPlacementComingBackIsUnsettled(t *testing.T) {
	tt := newTestTarget(t)
	r := tt.srv.reb
	r.started.Store(true)
	defer r.started.Store(false)
	f := tt.srv.Follower()
	withT2 := func(epoch uint64, st meta.NodeState) *meta.Snapshot {
		s := testSnapshot(epoch, testBucket("bkt", 1, ""))
		n := s.Nodes["t2"]
		n.State = st
		s.Nodes["t2"] = n
		return s
	}
	f.Store(withT2(6, meta.NodeActive))
	p := balancer.PlacementID(f.Current().Snap)
	r.settledFor.Store(p)
	if r.unsettled(f.Current()) {
		t.Fatal("unsettled right after settling")
	}
	f.Store(withT2(7, meta.NodeDown))
	if !r.unsettled(f.Current()) {
		t.Fatal("settled with a target down")
	}
	f.Store(withT2(8, meta.NodeActive))
	if balancer.PlacementID(f.Current().Snap) != p {
		t.Fatal("test setup: the placement did not come back")
	}
	if !r.unsettled(f.Current()) {
		t.Fatal("settled for a placement that came back: the writes made meanwhile are not looked for")
	}
	r.settledFor.Store(p)
	f.Store(withT2(11, meta.NodeActive)) // epochs 9 and 10 unseen
	if !r.unsettled(f.Current()) {
		t.Fatal("settled after unseen epochs")
	}
}

// TestTombstoneKills: a tombstone kills copies of earlier epochs and, at its own epoch, copies
// written no later than the delete, whatever their version (chaos: an object written again at
// version 1 after a delete of version 5 died under the tombstone when its owner came back).
func TestTombstoneKills(t *testing.T) {
	ts := tombstone{Stamp: stamp{Epoch: 9, Version: 5, Mtime: 100}}
	for _, c := range []struct {
		s    stamp
		dead bool
	}{
		{stamp{Epoch: 9, Version: 1, Mtime: 200}, false}, // written again after the delete
		{stamp{Epoch: 9, Version: 5, Mtime: 100}, true},  // the deleted copy itself
		{stamp{Epoch: 9, Version: 4, Mtime: 90}, true},
		{stamp{Epoch: 8, Version: 9, Mtime: 999}, true}, // an older epoch's copy
		{stamp{Epoch: 10, Version: 1, Mtime: 1}, false}, // a later epoch's write
	} {
		if got := ts.kills(c.s); got != c.dead {
			t.Errorf("tombstone %+v kills %+v: %v, want %v", ts.Stamp, c.s, got, c.dead)
		}
	}
	// A write after a delete counts its version on from the deleted one.
	tt := newTestTarget(t)
	b := testBucket("bkt", 1, "")
	tt.srv.reb.tombs.add(b, "gone", stamp{Epoch: 5, Version: 5, Mtime: 1}, time.Now())
	mustPut(t, tt.srv.store, b, "gone", "again")
	if _, m := mustRead(t, tt.srv.store, b, "gone"); m.Version != 6 {
		t.Fatalf("version after a delete of version 5: %d, want 6", m.Version)
	}
}

// TestNeighbourTombstoneOrder: a neighbour's tombstone is weighed against a copy by epoch and
// delete time, never by version (chaos: a target that kept the tombstone of version 20 made its
// owner drop the object written again after the delete at version 1, once the owner had
// forgotten the tombstone).
func TestNeighbourTombstoneOrder(t *testing.T) {
	tomb := &copyInfo{stamp: stamp{Epoch: 13, Version: 20, Mtime: 100}, deleted: true}
	again := &ObjectMeta{Epoch: 13, Version: 1, Mtime: 200}
	if tomb.supersedes(again) {
		t.Fatal("an older tombstone with a higher version supersedes the object written again after it")
	}
	if !tomb.supersedes(&ObjectMeta{Epoch: 12, Version: 30, Mtime: 999}) {
		t.Fatal("a tombstone of a later epoch does not supersede the copy")
	}
	cp := &copyInfo{stamp: again.stamp()}
	if newerInfo(tomb, cp) || !newerInfo(cp, tomb) {
		t.Fatal("the lookup prefers the older tombstone over the copy written after it")
	}
	tt := newTestTarget(t)
	b := testBucket("bkt", 1, "")
	mustPut(t, tt.srv.store, b, "again", "x")
	_, m := mustRead(t, tt.srv.store, b, "again")
	removed, err := tt.srv.store.removeDead(b, "again", stamp{Epoch: m.Epoch, Version: m.Version + 20, Mtime: m.Mtime - 1})
	if err != nil || removed {
		t.Fatalf("removeDead removed a copy written after the delete: %v %v", removed, err)
	}
}

// TestTombstoneAloneIsNotAbsent: while a target that may hold the object is down, an owner
// with only a tombstone answers 503, not 404: the object may have been written again after the
// delete on the target that is down now (chaos: register-pause-target-long, reg/0031, read
// absent from the new owner while the paused one held the write that followed the delete).
func TestTombstoneAloneIsNotAbsent(t *testing.T) {
	tt := newTestTarget(t)
	r := tt.srv.reb
	r.started.Store(true)
	defer r.started.Store(false)
	s := testSnapshot(6, testBucket("bkt", 1, ""))
	n := s.Nodes["t2"]
	n.State = meta.NodeDown
	s.Nodes["t2"] = n
	tt.srv.Follower().Store(s)
	b := testBucket("bkt", 1, "")
	name := "tomb-only"
	r.tombs.add(b, name, stamp{Epoch: 5, Version: 3, Mtime: 1}, time.Now())
	err := r.ensureLocal(context.Background(), tt.srv.Follower().Current(), b, name)
	if meta.KindOf(err) != meta.KindTransient {
		t.Fatalf("ensureLocal with only a tombstone and t2 down: %v, want Unavailable", err)
	}
}

// TestTombstonesInRange: a listing page carries the tombstones of its bucket, prefix and range
// of names only.
func TestTombstonesInRange(t *testing.T) {
	ts := newTombstones()
	b, other := testBucket("bkt", 1, ""), testBucket("other", 2, "")
	now := time.Now()
	for _, n := range []string{"a/1", "a/2", "a/3", "b/1"} {
		ts.add(b, n, stamp{Epoch: 5, Mtime: 1}, now)
	}
	ts.add(other, "a/2", stamp{Epoch: 5, Mtime: 1}, now)
	names := func(l []api.Tombstone) []string {
		var out []string
		for _, t := range l {
			out = append(out, t.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		prefix, start, last string
		want                []string
	}{
		{"", "", "", []string{"a/1", "a/2", "a/3", "b/1"}},
		{"a/", "a/1", "", []string{"a/2", "a/3"}},
		{"", "", "a/2", []string{"a/1", "a/2"}},
		{"b/", "", "", []string{"b/1"}},
	} {
		if got := names(ts.inRange(b, c.prefix, c.start, c.last)); !slices.Equal(got, c.want) {
			t.Errorf("inRange(%q, %q, %q) = %v, want %v", c.prefix, c.start, c.last, got, c.want)
		}
	}
}

// TestDeleteFindsLocalCopyUnderItsTombstone: while unsettled, a DELETE of an object this owner
// holds counts as found from the moment its tombstone is recorded, even if the copy is gone
// before the handler looks: a neighbour's rebalance job starting at that moment pushes the
// tombstone it just received back to the owner, which removes the copy it kills (chaos,
// durability-pause-lease-holder: dur/c0/000218, acknowledged at epoch 13 on t0, deleted at epoch
// 14 just as every target's rebalance-14 started; the DELETE answered 404).
func TestDeleteFindsLocalCopyUnderItsTombstone(t *testing.T) {
	tt := newTestTarget(t)
	r := tt.srv.reb
	r.started.Store(true)
	defer r.started.Store(false)
	name := tt.ownedBy(t, "t1", "local-")
	tt.put(t, name, "bytes")
	view := tt.srv.Follower().Current()
	if !r.unsettled(view) {
		t.Fatal("test setup: settled")
	}
	b := testBucket("bkt", 1, "")
	found, complete, err := r.deleteEverywhere(context.Background(), view, b, name)
	if err != nil || !complete {
		t.Fatalf("deleteEverywhere: complete %v, %v", complete, err)
	}
	if !found {
		t.Fatal("a local copy under the delete's tombstone was not counted as found")
	}
	ts, ok := r.tombs.get(b, name)
	if !ok {
		t.Fatal("no tombstone")
	}
	// What the pushed-back tombstone does meanwhile: the handler then finds nothing to delete.
	if removed, err := tt.srv.store.removeDead(b, name, ts.Stamp); err != nil || !removed {
		t.Fatalf("the tombstone does not kill the local copy: removed %v, %v", removed, err)
	}
}

// TestConcurrentDeletesFindOneCopy: concurrent unsettled DELETEs of one object remove one
// copy, so exactly one of them answers 200 and the others 404 (chaos, session 3: with a local
// copy counted found from its tombstone on, two racing deletes both answered 200, reg/0005 of
// register-isolate-gateway).
func TestConcurrentDeletesFindOneCopy(t *testing.T) {
	tt := newTestTarget(t)
	r := tt.srv.reb
	r.started.Store(true)
	defer r.started.Store(false)
	for round := 0; round < 50; round++ {
		name := tt.ownedBy(t, "t1", fmt.Sprintf("racing-%d-", round))
		tt.put(t, name, "bytes")
		const n = 8
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := do(t, tt.request(t, http.MethodDelete, http.MethodDelete, "bkt", name, 5, nil))
				codes <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		ok := 0
		for c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusNotFound:
			default:
				t.Fatalf("round %d: a DELETE answered %d", round, c)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of %d concurrent DELETEs of one object answered 200, want 1", round, ok, n)
		}
	}
}
