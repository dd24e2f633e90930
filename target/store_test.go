package target

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

func TestPutReadEveryChecksumType(t *testing.T) {
	s := openTestStore(t, tempMountpaths(t, 2))
	for _, typ := range []string{meta.ChecksumHighway, meta.ChecksumMD5, meta.ChecksumCRC32C, meta.ChecksumSHA256, meta.ChecksumNone} {
		t.Run(typ, func(t *testing.T) {
			b := testBucket("b-"+typ, 1, fmt.Sprintf(`{"checksum":{"type":%q}}`, typ))
			data := strings.Repeat("0123456789", 100_000) // spans several pooled buffers
			m := mustPut(t, s, b, "dir/obj", data)
			h, _ := codec.NewHash(typ)
			var want []byte
			if h != nil {
				h.Write([]byte(data))
				want = h.Sum(nil)
			}
			if m.ChecksumType != typ || string(m.Checksum) != string(want) || m.Size != int64(len(data)) || m.Version != 1 {
				t.Fatalf("meta %+v", m)
			}
			got, rm := mustRead(t, s, b, "dir/obj")
			if got != data {
				t.Fatal("read back different bytes")
			}
			if rm.Mtime != testNow.UnixNano() || rm.Name != "dir/obj" || rm.BucketID != 1 {
				t.Fatalf("stored meta %+v", rm)
			}
			o, _ := s.Open(b, "dir/obj")
			defer o.Close()
			if err := s.Verify(o); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

func TestVersionsCountUp(t *testing.T) {
	s := openTestStore(t, tempMountpaths(t, 1))
	b := testBucket("bkt", 1, "")
	for v := uint64(1); v <= 3; v++ {
		if m := mustPut(t, s, b, "x", fmt.Sprint(v)); m.Version != v {
			t.Fatalf("put %d: version %d", v, m.Version)
		}
	}
	if _, m := mustRead(t, s, b, "x"); m.Version != 3 {
		t.Fatalf("stored version %d", m.Version)
	}
	if err := s.Delete(b, "x", true); err != nil {
		t.Fatal(err)
	}
	if m := mustPut(t, s, b, "x", "again"); m.Version != 1 {
		t.Fatalf("after delete: version %d, want 1", m.Version)
	}
}

func TestConcurrentPutsGetDistinctVersions(t *testing.T) {
	s := openTestStore(t, tempMountpaths(t, 1))
	b := testBucket("bkt", 1, `{"write":{"fsync":false}}`)
	const n = 20
	var wg sync.WaitGroup
	versions := make(chan uint64, n)
	for i := range n {
		wg.Go(func() {
			m, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: "same",
				Body: strings.NewReader(fmt.Sprint(i)), Size: -1})
			if err != nil {
				t.Error(err)
				return
			}
			versions <- m.Version
		})
	}
	wg.Wait()
	close(versions)
	seen := map[uint64]bool{}
	for v := range versions {
		if seen[v] || v < 1 || v > n {
			t.Fatalf("version %d repeated or out of range", v)
		}
		seen[v] = true
	}
	if _, m := mustRead(t, s, b, "same"); m.Version != n {
		t.Fatalf("final version %d, want %d", m.Version, n)
	}
}

// TestObjectVisibleOnlyWhenComplete streams a body slowly: while it streams, the object does
// not exist and the bytes sit in a work file; after the rename it is complete.
func TestObjectVisibleOnlyWhenComplete(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: "slow", Body: pr, Size: -1})
		done <- err
	}()
	if _, err := pw.Write([]byte("first half ")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readObject(s, b, "slow"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("during the write: got %v, want ErrObjectNotFound", err)
	}
	if w := entries(t, mps[0]+"/"+workDir); len(w) != 1 {
		t.Fatalf("work dir holds %v, want one file", w)
	}
	pw.Write([]byte("second half"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := mustRead(t, s, b, "slow"); got != "first half second half" {
		t.Fatalf("got %q", got)
	}
	if w := entries(t, mps[0]+"/"+workDir); len(w) != 0 {
		t.Fatalf("work dir holds %v after the write", w)
	}
}

type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestShortBodyLeavesNothing(t *testing.T) {
	tests := []struct {
		name string
		body io.Reader
		size int64
	}{
		{"eof before content-length", strings.NewReader("short"), 100},
		{"unexpected eof", &failingReader{"partial", io.ErrUnexpectedEOF}, -1},
		{"connection reset", &failingReader{"partial", errors.New("connection reset by peer")}, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mps := tempMountpaths(t, 1)
			s := openTestStore(t, mps)
			b := testBucket("bkt", 1, "")
			mustPut(t, s, b, "old", "old version")
			_, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: "old", Body: tc.body, Size: tc.size})
			if !errors.Is(err, meta.ErrIncompleteBody) {
				t.Fatalf("got %v, want ErrIncompleteBody", err)
			}
			_, err = s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: "new",
				Body: &failingReader{"x", io.ErrUnexpectedEOF}, Size: 10})
			if !errors.Is(err, meta.ErrIncompleteBody) {
				t.Fatalf("got %v, want ErrIncompleteBody", err)
			}
			if w := entries(t, mps[0]+"/"+workDir); len(w) != 0 {
				t.Fatalf("work files left behind: %v", w)
			}
			if _, _, err := readObject(s, b, "new"); !errors.Is(err, meta.ErrObjectNotFound) {
				t.Fatalf("new object: got %v, want ErrObjectNotFound", err)
			}
			if got, m := mustRead(t, s, b, "old"); got != "old version" || m.Version != 1 {
				t.Fatalf("old object now %q v%d", got, m.Version)
			}
		})
	}
}

func TestBadDigestKeepsOldVersion(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	mustPut(t, s, b, "obj", "good")
	sum := md5.Sum([]byte("other"))
	_, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: "obj",
		Body: strings.NewReader("new bytes"), Size: 9, Want: Checksum{Type: meta.ChecksumMD5, Value: sum[:]}})
	if !errors.Is(err, meta.ErrBadDigest) {
		t.Fatalf("got %v, want ErrBadDigest", err)
	}
	if got, m := mustRead(t, s, b, "obj"); got != "good" || m.Version != 1 {
		t.Fatalf("object now %q v%d", got, m.Version)
	}
	if w := entries(t, mps[0]+"/"+workDir); len(w) != 0 {
		t.Fatalf("work files left behind: %v", w)
	}
	// The right digest, of another type than the bucket's, passes.
	sum = md5.Sum([]byte("new bytes"))
	m, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: "obj",
		Body: strings.NewReader("new bytes"), Size: 9, Want: Checksum{Type: meta.ChecksumMD5, Value: sum[:]}})
	if err != nil || m.Version != 2 || m.ChecksumType != meta.ChecksumHighway {
		t.Fatalf("good digest: %+v, %v", m, err)
	}
}

func TestLongNames(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	long := strings.Repeat("L", 300)
	names := []string{long, "dir/" + long + "/file", "dir/" + long + "/other", "dir/short"}
	for _, n := range names {
		mustPut(t, s, b, n, "data of "+n)
	}
	for _, n := range names {
		if got, m := mustRead(t, s, b, n); got != "data of "+n || m.Name != n {
			t.Fatalf("%.20q: got %.30q (meta name %.20q)", n, got, m.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(mps[0], "@ais/bkt/dir", hashComponent(long), "file")); err != nil {
		t.Fatalf("hashed file name not on disk: %v", err)
	}
	got, more, err := s.List(context.Background(), b, ListArgs{Limit: 100})
	if err != nil || more {
		t.Fatal(err, more)
	}
	var listed []string
	for _, m := range got {
		listed = append(listed, m.Name)
	}
	want := []string{long, "dir/" + long + "/file", "dir/" + long + "/other", "dir/short"}
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("listed %.200q", listed)
	}
	if err := s.Delete(b, "dir/"+long+"/file", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readObject(s, b, "dir/"+long+"/file"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestNamesCannotEscape(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	outside := filepath.Join(filepath.Dir(mps[0]), "outside")
	for _, name := range []string{"../../outside", "/abs", "a/../../../x", ".."} {
		_, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: name, Body: strings.NewReader("x"), Size: 1})
		if !errors.Is(err, meta.ErrInvalidObjectName) {
			t.Errorf("put %q: got %v, want ErrInvalidObjectName", name, err)
		}
		if _, err := s.Open(b, name); !errors.Is(err, meta.ErrInvalidObjectName) {
			t.Errorf("open %q: got %v, want ErrInvalidObjectName", name, err)
		}
	}
	if _, err := os.Stat(outside); err == nil {
		t.Fatal("a file was created outside the mountpath")
	}
	// A symlink planted in the bucket is not followed.
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret"), 0o644)
	mustPut(t, s, b, "dir/x", "x")
	if err := os.Symlink(secret, filepath.Join(mps[0], "@ais/bkt/dir/link")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(b, "dir/link"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("open symlink: got %v, want ErrObjectNotFound", err)
	}
}

// TestFileDirectoryConflicts: "a" and "a/b" both exist; the object whose path is a directory
// lives in it under dirObjName (dirobj.go), whichever came first.
func TestFileDirectoryConflicts(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	mustPut(t, s, b, "a", "file a")
	mustPut(t, s, b, "a/b", "file a/b") // moves "a" into the directory a
	mustPut(t, s, b, "d/e/f", "deep")
	mustPut(t, s, b, "d/e", "file d/e") // lands in the directory d/e
	mustPut(t, s, b, "d/e", "file d/e, version 2")
	for name, want := range map[string]string{"a": "file a", "a/b": "file a/b", "d/e/f": "deep", "d/e": "file d/e, version 2"} {
		if got, m := mustRead(t, s, b, name); got != want || m.Name != name {
			t.Fatalf("%s: %q (record %q), want %q", name, got, m.Name, want)
		}
	}
	if _, m := mustRead(t, s, b, "d/e"); m.Version != 2 {
		t.Fatalf("d/e has version %d, want 2", m.Version)
	}
	if e := entries(t, mps[0]+"/@ais/bkt/a"); fmt.Sprint(e) != fmt.Sprint([]string{"b", dirObjName}) {
		t.Fatalf("directory a holds %q", e)
	}
	ms, more, err := s.List(context.Background(), b, ListArgs{Limit: 100})
	if err != nil || more {
		t.Fatal(err, more)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if fmt.Sprint(names) != "[a a/b d/e d/e/f]" {
		t.Fatalf("listing %v", names)
	}
	if ms, _, _ := s.List(context.Background(), b, ListArgs{Prefix: "d/e", StartAfter: "d/e", Limit: 100}); len(ms) != 1 || ms[0].Name != "d/e/f" {
		t.Fatalf("listing after d/e: %v", ms)
	}
	if _, err := s.Open(b, "a/b/c"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("open below a file: got %v", err)
	}
	// Deleting the escaped object, then the rest, prunes every directory.
	if err := s.Delete(b, "d/e", true); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustRead(t, s, b, "d/e/f"); got != "deep" {
		t.Fatalf("d/e/f after deleting d/e: %q", got)
	}
	for _, name := range []string{"d/e/f", "a/b", "a"} {
		if err := s.Delete(b, name, false); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
		if err := s.Delete(b, name, false); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Fatalf("second delete of %s: got %v", name, err)
		}
	}
	if e := entries(t, mps[0]+"/@ais/bkt"); len(e) != 0 {
		t.Fatalf("bucket dir holds %v after deleting everything", e)
	}
}

func TestCorruptionDetected(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	mustPut(t, s, b, "flip", "0123456789")
	mustPut(t, s, b, "trunc", "0123456789")
	mustPut(t, s, b, "rec", "0123456789")
	dir := mps[0] + "/@ais/bkt/"

	// Same size, one byte changed: only a re-hash notices.
	f, _ := os.OpenFile(dir+"flip", os.O_WRONLY, 0)
	f.WriteAt([]byte("X"), 3)
	f.Close()
	o, err := s.Open(b, "flip")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(o); !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("verify flipped: got %v, want ErrCorrupt", err)
	}
	o.Close()

	// Size differs from the record: caught at open.
	os.Truncate(dir+"trunc", 4)
	if _, err := s.Open(b, "trunc"); !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("open truncated: got %v, want ErrCorrupt", err)
	}

	// A damaged record: caught at open.
	raw, _ := OSFS{}.GetXattr(dir+"rec", xattrMeta)
	raw[5] ^= 0xff
	if err := (OSFS{}).SetXattr(dir+"rec", xattrMeta, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(b, "rec"); !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("open damaged record: got %v, want ErrCorrupt", err)
	}
	// It can still be deleted, and then overwritten.
	if err := s.Delete(b, "rec", true); err != nil {
		t.Fatal(err)
	}

	// A file without a record (copied in by hand) is not an object.
	os.WriteFile(dir+"foreign", []byte("x"), 0o644)
	if _, err := s.Open(b, "foreign"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("open file without record: got %v", err)
	}
}

func TestBucketIDMismatchIsNotFound(t *testing.T) {
	s := openTestStore(t, tempMountpaths(t, 1))
	old := testBucket("bkt", 1, "")
	mustPut(t, s, old, "obj", "old bucket's")
	recreated := testBucket("bkt", 2, "")
	if _, err := s.Open(recreated, "obj"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("got %v, want ErrObjectNotFound", err)
	}
	if err := s.Delete(recreated, "obj", false); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("delete: got %v, want ErrObjectNotFound", err)
	}
	if got, _, _ := s.List(context.Background(), recreated, ListArgs{Limit: 10}); len(got) != 0 {
		t.Fatalf("listed %v", got)
	}
}

func snapshotWith(epoch uint64, buckets ...*meta.Bucket) *meta.Snapshot {
	s := meta.NewSnapshot()
	s.Epoch = epoch
	for _, b := range buckets {
		s.Buckets[b.Key()] = *b
	}
	return s
}

func TestBucketDestroy(t *testing.T) {
	mps := tempMountpaths(t, 2)
	s := openTestStore(t, mps)
	keep, gone := testBucket("keep", 1, ""), testBucket("gone", 2, "")
	for i := range 10 {
		mustPut(t, s, keep, fmt.Sprint("o", i), "k")
		mustPut(t, s, gone, fmt.Sprint("o", i), "g")
	}
	// An older snapshot (a lagging meta member) without the bucket removes nothing.
	if n, err := s.SyncBuckets(snapshotWith(0, keep)); n != 0 || err != nil {
		t.Fatalf("old snapshot trashed %d (%v)", n, err)
	}
	n, err := s.SyncBuckets(snapshotWith(5, keep))
	if err != nil || n == 0 {
		t.Fatalf("trashed %d, %v", n, err)
	}
	for _, mp := range mps {
		if e := entries(t, mp+"/@ais"); fmt.Sprint(e) != "[keep]" {
			t.Fatalf("%s/@ais holds %v", mp, e)
		}
	}
	if _, err := s.Open(gone, "o1"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("destroyed bucket's object: %v", err)
	}
	if err := s.EmptyTrash(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, mp := range mps {
		if e := entries(t, mp+"/"+trashDir); len(e) != 0 {
			t.Fatalf("trash not empty: %v", e)
		}
	}
	mustRead(t, s, keep, "o1")

	// Recreated under a new ID: the old directory goes, the new bucket starts empty.
	again := testBucket("keep", 9, "")
	if n, _ := s.SyncBuckets(snapshotWith(6, again)); n == 0 {
		t.Fatal("recreated bucket's old directories not trashed")
	}
	if got, _, _ := s.List(context.Background(), again, ListArgs{Limit: 10}); len(got) != 0 {
		t.Fatalf("recreated bucket lists %d objects", len(got))
	}
	mustPut(t, s, again, "new", "n")
	if n, _ := s.SyncBuckets(snapshotWith(7, again)); n != 0 {
		t.Fatalf("current bucket trashed")
	}
	mustRead(t, s, again, "new")
}

func TestPutIntoRecreatedBucketReplacesOldDir(t *testing.T) {
	mps := tempMountpaths(t, 1)
	s := openTestStore(t, mps)
	mustPut(t, s, testBucket("bkt", 1, ""), "old", "x")
	nb := testBucket("bkt", 2, "")
	m, err := s.Put(context.Background(), PutArgs{Bucket: nb, Epoch: 3, Name: "new", Body: strings.NewReader("y"), Size: 1})
	if err != nil || m.BucketID != 2 {
		t.Fatal(m, err)
	}
	if e := entries(t, mps[0]+"/@ais/bkt"); fmt.Sprint(e) != "[new]" {
		t.Fatalf("bucket dir holds %v", e)
	}
	// A request still on an epoch older than the new directory is told its epoch is stale.
	_, err = s.Put(context.Background(), PutArgs{Bucket: testBucket("bkt", 1, ""), Epoch: 2, Name: "late",
		Body: strings.NewReader("z"), Size: 1})
	if !errors.Is(err, meta.ErrStaleEpoch) {
		t.Fatalf("late put: got %v, want ErrStaleEpoch", err)
	}
}

// TestReopen is what a target killed with SIGKILL sees at restart: complete objects are all
// there, interrupted writes are gone.
func TestReopen(t *testing.T) {
	mps := tempMountpaths(t, 3)
	s := openTestStore(t, mps)
	b := testBucket("bkt", 1, "")
	want := map[string]string{}
	for i := range 30 {
		name := fmt.Sprintf("d%d/obj-%02d", i%4, i)
		want[name] = strings.Repeat(name, i)
		mustPut(t, s, b, name, want[name])
	}
	for _, mp := range mps {
		os.WriteFile(mp+"/"+workDir+"/interrupted", []byte("half"), 0o644)
	}
	s2 := openTestStore(t, mps)
	for _, mp := range mps {
		if e := entries(t, mp+"/"+workDir); len(e) != 0 {
			t.Fatalf("stale work files survived: %v", e)
		}
	}
	for name, data := range want {
		if got, _ := mustRead(t, s2, b, name); got != data {
			t.Fatalf("%s: got %d bytes, want %d", name, len(got), len(data))
		}
	}
	if m := mustPut(t, s2, b, "d0/obj-00", "v2"); m.Version != 2 {
		t.Fatalf("version after reopen: %d", m.Version)
	}
}

func TestOpenStoreChecks(t *testing.T) {
	// A mountpath that does not exist yet is created.
	mp := filepath.Join(t.TempDir(), "new", "disk")
	if _, err := OpenStore(OSFS{}, []string{mp}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// One that is a file is refused.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := OpenStore(OSFS{}, []string{f}, nil, nil); err == nil {
		t.Fatal("a file as mountpath was accepted")
	}
}

func TestNodeID(t *testing.T) {
	mps := tempMountpaths(t, 2)
	id, err := resolveNodeID(OSFS{}, mps, "")
	if err != nil || !strings.HasPrefix(id, "t-") {
		t.Fatal(id, err)
	}
	again, err := resolveNodeID(OSFS{}, mps, "")
	if err != nil || again != id {
		t.Fatalf("second start: %q, %v; want %q", again, err, id)
	}
	if same, err := resolveNodeID(OSFS{}, mps, id); err != nil || same != id {
		t.Fatal(same, err)
	}
	if _, err := resolveNodeID(OSFS{}, mps, "other"); err == nil {
		t.Fatal("a mountpath of another target was accepted under a new ID")
	}
	fresh := tempMountpaths(t, 1)
	if _, err := resolveNodeID(OSFS{}, fresh, "t9"); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveNodeID(OSFS{}, []string{mps[0], fresh[0]}, ""); err == nil {
		t.Fatal("mountpaths of two targets were accepted together")
	}
}
