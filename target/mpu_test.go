package target

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

func putPart(t *testing.T, s *Store, b *meta.Bucket, name, id string, n int, data []byte) *api.PartInfo {
	t.Helper()
	sums, err := newS3Sums(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.PutPart(context.Background(), PartArgs{Bucket: b, Name: name, UploadID: id, Number: n,
		Body: bytes.NewReader(data), Size: int64(len(data)), Sums: sums})
	if err != nil {
		t.Fatalf("part %d: %v", n, err)
	}
	return p
}

func TestMultipartUpload(t *testing.T) {
	s := openTestStore(t, tempMountpaths(t, 2))
	b := testBucket("bkt", 7, "")
	up, err := s.CreateUpload(b, "obj", map[string]string{customHeader + "content-type": "text/x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{bytes.Repeat([]byte("a"), MinPartSize), bytes.Repeat([]byte("b"), MinPartSize), []byte("tail")}
	// Out of order, part 2 sent twice (first with other bytes): the last one wins.
	putPart(t, s, b, "obj", up.UploadID, 3, parts[2])
	putPart(t, s, b, "obj", up.UploadID, 2, bytes.Repeat([]byte("x"), MinPartSize))
	p2 := putPart(t, s, b, "obj", up.UploadID, 2, parts[1])
	p1 := putPart(t, s, b, "obj", up.UploadID, 1, parts[0])
	pl, err := s.ListParts(b, "obj", up.UploadID)
	if err != nil || len(pl.Parts) != 3 || pl.Parts[1].ETag != p2.ETag {
		t.Fatalf("parts %+v, %v", pl, err)
	}
	list := []api.CompletePart{{Number: 1, ETag: p1.ETag}, {Number: 2, ETag: `"` + p2.ETag + `"`}, {Number: 3, ETag: pl.Parts[2].ETag}}
	for _, bad := range []struct {
		parts []api.CompletePart
		want  error
	}{
		{[]api.CompletePart{list[1], list[0]}, meta.ErrInvalidPartOrder},
		{[]api.CompletePart{list[0], {Number: 2, ETag: p1.ETag}}, meta.ErrInvalidPart},
		{[]api.CompletePart{list[0], {Number: 4, ETag: p1.ETag}}, meta.ErrInvalidPart},
		{[]api.CompletePart{list[2], {Number: 5, ETag: "x"}}, meta.ErrInvalidPart},
		{[]api.CompletePart{list[0], list[2], {Number: 9, ETag: "x"}}, meta.ErrInvalidPart},
		{nil, meta.ErrInvalidPart},
	} {
		if _, _, err := s.CompleteUpload(context.Background(), CompleteArgs{Bucket: b, Epoch: 1, Name: "obj", UploadID: up.UploadID, Parts: bad.parts}); !errors.Is(err, bad.want) {
			t.Fatalf("complete %v: %v, want %v", bad.parts, err, bad.want)
		}
	}
	m, res, err := s.CompleteUpload(context.Background(), CompleteArgs{Bucket: b, Epoch: 1, Name: "obj", UploadID: up.UploadID, Parts: list})
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	if want := fmt.Sprintf("%x-3", h.Sum(nil)); res.ETag != want || m.S3ETag() != want {
		t.Fatalf("ETag %s / %s, want %s", res.ETag, m.S3ETag(), want)
	}
	data, m := mustRead(t, s, b, "obj")
	if data != string(bytes.Join(parts, nil)) || m.Custom[customHeader+"content-type"] != "text/x" {
		t.Fatalf("object of %d bytes, custom %v", len(data), m.Custom)
	}
	if sizes := partsDecode(m.Custom[customParts]); fmt.Sprint(sizes) != fmt.Sprint([]int64{MinPartSize, MinPartSize, 4}) {
		t.Fatalf("part sizes %v", sizes)
	}
	if off, n, _, err := partRange("3", m); err != nil || off != 2*MinPartSize || n != 4 {
		t.Fatalf("part 3: %d+%d, %v", off, n, err)
	}
	if _, err := s.ListParts(b, "obj", up.UploadID); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Fatalf("completed upload still there: %v", err)
	}
	// A small part that is not the last.
	up2, _ := s.CreateUpload(b, "obj2", nil, "")
	q1 := putPart(t, s, b, "obj2", up2.UploadID, 1, []byte("small"))
	q2 := putPart(t, s, b, "obj2", up2.UploadID, 2, []byte("small"))
	if _, _, err := s.CompleteUpload(context.Background(), CompleteArgs{Bucket: b, Epoch: 1, Name: "obj2", UploadID: up2.UploadID,
		Parts: []api.CompletePart{{Number: 1, ETag: q1.ETag}, {Number: 2, ETag: q2.ETag}}}); !errors.Is(err, meta.ErrEntityTooSmall) {
		t.Fatalf("small part: %v", err)
	}
	if err := s.AbortUpload(b, "obj2", up2.UploadID); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortUpload(b, "obj2", up2.UploadID); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Fatalf("second abort: %v", err)
	}
	if _, err := s.PutPart(context.Background(), PartArgs{Bucket: b, Name: "obj2", UploadID: up2.UploadID, Number: 1,
		Body: bytes.NewReader(nil), Sums: &s3Sums{}}); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Fatalf("part of an aborted upload: %v", err)
	}
	for _, id := range []string{"../../etc", "ABCDEF0123456789ABCDEF0123456789", ""} {
		if _, err := s.ListParts(b, "obj", id); !errors.Is(err, meta.ErrUploadNotFound) {
			t.Fatalf("upload ID %q: %v", id, err)
		}
	}
}

func TestSweepUploads(t *testing.T) {
	mps := tempMountpaths(t, 1)
	now := testNow
	s, err := OpenStore(OSFS{}, mps, func() time.Time { return now }, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	b := testBucket("bkt", 7, "")
	old, _ := s.CreateUpload(b, "old", nil, "")
	putPart(t, s, b, "old", old.UploadID, 1, []byte("x"))
	now = now.Add(time.Hour)
	fresh, _ := s.CreateUpload(b, "fresh", nil, "")
	gone := testBucket("gone", 8, "")
	orphan, _ := s.CreateUpload(gone, "o", nil, "")
	snap := meta.NewSnapshot()
	snap.Epoch = 5
	snap.Buckets[b.Key()] = *b
	n, err := s.SweepUploads(snap, 30*time.Minute)
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2 (expired, orphaned)", n, err)
	}
	if ups, _ := s.ListUploads(b, ""); len(ups) != 1 || ups[0].UploadID != fresh.UploadID {
		t.Fatalf("uploads left: %+v", ups)
	}
	if _, err := s.ListParts(gone, "o", orphan.UploadID); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Fatalf("orphaned upload: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mps[0], mpuDir, "gone")); !os.IsNotExist(err) {
		t.Fatalf("empty bucket directory of uploads left: %v", err)
	}
}
