package target

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func tempMountpaths(t *testing.T, n int) []string {
	t.Helper()
	mps := make([]string, n)
	for i := range mps {
		mps[i] = t.TempDir()
	}
	return mps
}

func openTestStore(t *testing.T, mps []string) *Store {
	t.Helper()
	s, err := OpenStore(OSFS{}, mps, func() time.Time { return testNow }, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testBucket(name string, id uint64, patch string) *meta.Bucket {
	props := meta.DefaultBucketProps()
	if patch != "" {
		var err error
		if props, err = props.Patch([]byte(patch)); err != nil {
			panic(err)
		}
	}
	return &meta.Bucket{Provider: meta.ProviderAIS, Name: name, ID: id, Props: props}
}

func mustPut(t *testing.T, s *Store, b *meta.Bucket, name, data string) *ObjectMeta {
	t.Helper()
	m, err := s.Put(context.Background(), PutArgs{Bucket: b, Epoch: 1, Name: name,
		Body: strings.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatalf("put %q: %v", name, err)
	}
	return m
}

func readObject(s *Store, b *meta.Bucket, name string) (string, *ObjectMeta, error) {
	o, err := s.Open(b, name)
	if err != nil {
		return "", nil, err
	}
	defer o.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, o.File); err != nil {
		return "", nil, err
	}
	return buf.String(), o.Meta, nil
}

func mustRead(t *testing.T, s *Store, b *meta.Bucket, name string) (string, *ObjectMeta) {
	t.Helper()
	data, m, err := readObject(s, b, name)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return data, m
}

// entries lists a directory's names ("" for a missing directory).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
