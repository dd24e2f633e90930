package target

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// copyFiles returns the mountpaths that hold a file of the object.
func copyFiles(t *testing.T, s *Store, b *meta.Bucket, name string) []string {
	t.Helper()
	var out []string
	for _, mp := range s.Mountpaths() {
		path, err := s.copyPath(mp, b, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err == nil {
			out = append(out, mp)
		}
	}
	return out
}

func TestEnsureCopies(t *testing.T) {
	ctx := context.Background()
	mps := tempMountpaths(t, 3)
	s := openTestStore(t, mps)
	s.now = time.Now // writes of one name differ in mtime
	b := testBucket("mirrored", 1, `{"mirror":{"copies":2}}`)
	const name, data = "dir/obj", "the bytes of a mirrored object"
	rec := mustPut(t, s, b, name, data)
	order := s.copyOrder(b, name)
	if len(order) != 2 || order[0] != meta.Mountpath(meta.ObjectKey(b.Key(), name), mps) {
		t.Fatalf("copy order %v: want 2 mountpaths, the HRW one first", order)
	}

	// Make the copy.
	rep, err := s.ensureCopies(ctx, b, 1, name, false)
	if err != nil || rep.Made != 1 || !rep.Damaged || !rep.Restored {
		t.Fatalf("first ensureCopies: %+v, %v", rep, err)
	}
	if got := copyFiles(t, s, b, name); len(got) != 2 {
		t.Fatalf("files on %v, want 2", got)
	}
	// Nothing to do the second time.
	if rep, err := s.ensureCopies(ctx, b, 1, name, true); err != nil || rep.Made != 0 || rep.Damaged {
		t.Fatalf("second ensureCopies: %+v, %v", rep, err)
	}

	// A flipped byte in the primary is found by a verifying pass and repaired from the copy.
	primary, _ := s.copyPath(order[0], b, name)
	f, err := os.OpenFile(primary, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'X'}, 3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep, err = s.ensureCopies(ctx, b, 1, name, true)
	if err != nil || !rep.Damaged || !rep.Restored || rep.Made != 1 {
		t.Fatalf("repair: %+v, %v", rep, err)
	}
	o, err := s.Open(b, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(o); err != nil || o.Meta.Version != rec.Version {
		t.Fatalf("repaired primary: %v, version %d want %d", err, o.Meta.Version, rec.Version)
	}
	o.Close()

	// Without verification a flipped copy is still caught while it is copied from: the copy
	// made from it is refused, and the other good copy is used.
	second, _ := s.copyPath(order[1], b, name)
	f, _ = os.OpenFile(second, os.O_RDWR, 0)
	_, _ = f.WriteAt([]byte{'Y'}, 5)
	f.Close()
	if err := os.Remove(primary); err != nil {
		t.Fatal(err)
	}
	rep, err = s.ensureCopies(ctx, b, 1, name, false)
	if err == nil || !rep.Unrecoverable || !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("only a damaged copy left: %+v, %v; want unrecoverable", rep, err)
	}
	if got := copyFiles(t, s, b, name); len(got) != 1 || got[0] != order[1] {
		t.Fatalf("files on %v after a failed restore, want only the damaged copy on %s", got, order[1])
	}

	// A new write (here with the primary lost) makes every other copy go away at once.
	rec2 := mustPut(t, s, b, name, data+"2")
	s.dropStaleCopies(b, rec2, false)
	if got := copyFiles(t, s, b, name); len(got) != 1 || got[0] != order[0] {
		t.Fatalf("files on %v after a new version, want only the primary", got)
	}

	// Lowering copies to 1 removes the extra copy; a count above the mountpaths is capped.
	if _, err := s.ensureCopies(ctx, b, 1, name, false); err != nil {
		t.Fatal(err)
	}
	b1 := testBucket("mirrored", 1, `{"mirror":{"copies":1}}`)
	if rep, err := s.ensureCopies(ctx, b1, 1, name, false); err != nil || rep.Removed != 1 {
		t.Fatalf("lower to 1: %+v, %v", rep, err)
	}
	b9 := testBucket("mirrored", 1, `{"mirror":{"copies":9}}`)
	if got := s.copiesOf(b9); got != 3 {
		t.Fatalf("copies of 9 on 3 mountpaths: %d", got)
	}
	if rep, err := s.ensureCopies(ctx, b9, 1, name, false); err != nil || rep.Made != 2 {
		t.Fatalf("raise to 9 (3): %+v, %v", rep, err)
	}
}

func TestLeastBusy(t *testing.T) {
	var l readLoad
	mps := []string{"/a", "/b", "/c"}
	if got := l.leastBusy(mps); strings.Join(got, ",") != "/a,/b,/c" {
		t.Fatalf("idle: %v, want HRW order", got)
	}
	l.counter("/a").Add(2)
	l.counter("/b").Add(1)
	if got := l.leastBusy(mps); strings.Join(got, ",") != "/c,/b,/a" {
		t.Fatalf("busy: %v", got)
	}
}

// TestMirrorSyncOnePass: a synchronously mirrored bucket gets its copies in the write's own
// pass (no afterPut hook here, which would otherwise make them): every copy holds the bytes and
// the primary's record, a second write replaces them all, and a copy whose mountpath fails in
// the pass is left out without failing the write.
func TestMirrorSyncOnePass(t *testing.T) {
	ctx := context.Background()
	mps := tempMountpaths(t, 3)
	s := openTestStore(t, mps)
	s.now = time.Now
	b := testBucket("mirrored", 1, `{"mirror":{"copies":3,"sync":true}}`)
	const name = "a/b/obj"
	for i, data := range []string{"first version", "second, longer version"} {
		rec := mustPut(t, s, b, name, data)
		if got := copyFiles(t, s, b, name); len(got) != 3 {
			t.Fatalf("write %d: files on %v, want 3", i+1, got)
		}
		for _, mp := range mps {
			o, err := s.OpenCopy(mp, b, name)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(io.LimitReader(o.File, o.Meta.Size+1))
			o.Close()
			if string(body) != data || o.Meta.Version != rec.Version || o.Meta.Mtime != rec.Mtime ||
				!bytes.Equal(o.Meta.Checksum, rec.Checksum) {
				t.Fatalf("write %d: copy on %s: %q version %d, want %q version %d", i+1, mp, body, o.Meta.Version, data, rec.Version)
			}
		}
		if rep, err := s.ensureCopies(ctx, b, 1, name, true); err != nil || rep.Made != 0 || rep.Damaged {
			t.Fatalf("write %d: ensureCopies after the write: %+v, %v", i+1, rep, err)
		}
	}
	// A copy mountpath whose work directory is gone: the write succeeds with the others.
	order := s.copyOrder(b, name)
	if err := os.RemoveAll(order[2] + "/" + workDir); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, b, name, "third")
	if got := copyFiles(t, s, b, name); len(got) != 3 {
		t.Fatalf("files on %v after a failed copy: want the stale one still there (the copy step removes it)", got)
	}
	if o, err := s.OpenCopy(order[1], b, name); err != nil || o.Meta.Size != int64(len("third")) {
		t.Fatalf("second copy after the third write: %v", err)
	} else {
		o.Close()
	}
}
