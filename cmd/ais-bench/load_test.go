package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestLoadAgainstCeiling drives the HTTP ceiling server in-process: writes, verified reads of
// whole objects and of ranges, and the errors of damaged and missing objects.
func TestLoadAgainstCeiling(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(newCeilingServer(dir))
	defer srv.Close()
	ctx := context.Background()
	pat := newPattern()
	for _, fsync := range []bool{false, true} {
		be := newRawBackend(srv.URL, fsync, benchHTTPClient(4))
		sum, err := runLoad(ctx, loadSpec{Op: opPut, Workers: 4, Count: 40, Prefix: "p/", MinSize: 1000,
			MaxSize: 300_000}, be, pat, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := sum.result(opPut); r.Ops != 40 || r.Errors != 0 || sum.NamesUsed != 40 {
			t.Fatalf("fsync %v: put %+v, names %d", fsync, r, sum.NamesUsed)
		}
	}
	be := newRawBackend(srv.URL, false, benchHTTPClient(4))
	for _, rng := range []int64{0, 777} {
		var intervals int
		sum, err := runLoad(ctx, loadSpec{Op: opGet, Workers: 4, Duration: 300 * time.Millisecond, NumObjects: 40,
			Prefix: "p/", MinSize: 1000, MaxSize: 300_000, Range: rng, Verify: true, Interval: 100 * time.Millisecond},
			be, pat, func(Interval) { intervals++ })
		if err != nil {
			t.Fatal(err)
		}
		r := sum.result(opGet)
		if r.Ops == 0 || r.Errors != 0 || r.LatP50 <= 0 || r.LatMax < r.LatP99 {
			t.Fatalf("range %d: get %+v", rng, r)
		}
		if intervals < 2 {
			t.Fatalf("%d intervals reported", intervals)
		}
	}

	// Damage one object, remove another: GETs of them fail by kind.
	f := filepath.Join(dir, flatName(nameOf("p/", 3)))
	b, _ := os.ReadFile(f)
	b[10] ^= 0xff
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, flatName(nameOf("p/", 4)))); err != nil {
		t.Fatal(err)
	}
	objs := []object{{nameOf("p/", 3), sizeOf(nameOf("p/", 3), 1000, 300_000)}, {nameOf("p/", 4), 1000}}
	sum, err := runLoad(ctx, loadSpec{Op: opGet, Workers: 2, Count: 40, Objects: objs, Verify: true}, be, pat, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := sum.result(opGet)
	if r.Ops != 0 || r.ErrKinds["verify"] == 0 || r.ErrKinds["404"] == 0 || r.Errors != 40 {
		t.Fatalf("get of damaged and missing objects: %+v", r)
	}
}

// memBackend keeps objects in memory; a PUT replaces an object at once.
type memBackend struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memBackend) put(_ context.Context, name string, body *patReader) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.objs[name] = b
	m.mu.Unlock()
	return nil
}

func (m *memBackend) get(_ context.Context, name string, off, length int64, buf []byte, sink func([]byte) error) (int64, error) {
	m.mu.Lock()
	b, ok := m.objs[name]
	m.mu.Unlock()
	if !ok {
		return 0, &httpStatusError{status: 404}
	}
	b = b[off:]
	if length > 0 {
		b = b[:length]
	}
	return readAll(bytes.NewReader(b), buf, sink)
}

func (m *memBackend) list(context.Context, string) ([]object, error) { return nil, nil }

func TestLoadMixed(t *testing.T) {
	be := &memBackend{objs: map[string][]byte{}}
	pat := newPattern()
	ctx := context.Background()
	if _, err := runLoad(ctx, loadSpec{Op: opPut, Workers: 2, Count: 20, Prefix: "m/", MinSize: 10, MaxSize: 5000},
		be, pat, nil); err != nil {
		t.Fatal(err)
	}
	sum, err := runLoad(ctx, loadSpec{Op: opMixed, PutPct: 30, Workers: 3, Count: 3000, NumObjects: 20, Prefix: "m/",
		MinSize: 10, MaxSize: 5000, Range: 100, Verify: true}, be, pat, nil)
	if err != nil {
		t.Fatal(err)
	}
	put, get := sum.result(opPut), sum.result(opGet)
	if put.Ops+get.Ops != 3000 || put.Errors+get.Errors != 0 || put.Ops < 700 || put.Ops > 1100 {
		t.Fatalf("mixed: put %+v get %+v", put, get)
	}
	if len(be.objs) != 20 {
		t.Fatalf("mixed PUTs went beyond the %d names: %d objects", 20, len(be.objs))
	}
}

func TestDiskBackend(t *testing.T) {
	be := &diskBackend{dir: t.TempDir(), fsync: true}
	pat := newPattern()
	ctx := context.Background()
	if _, err := runLoad(ctx, loadSpec{Op: opPut, Workers: 2, Count: 20, Prefix: "d/", MinSize: 3 << 20, MaxSize: 3 << 20},
		be, pat, nil); err != nil {
		t.Fatal(err)
	}
	sum, err := runLoad(ctx, loadSpec{Op: opGet, Workers: 2, Count: 50, NumObjects: 20, Prefix: "d/",
		MinSize: 3 << 20, MaxSize: 3 << 20, Verify: true, Range: 1 << 20}, be, pat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := sum.result(opGet); r.Ops != 50 || r.Errors != 0 || r.Bytes != 50<<20 {
		t.Fatalf("disk get: %+v", r)
	}
}

func TestLoadSpecValidate(t *testing.T) {
	bad := []loadSpec{
		{Op: "delete", Workers: 1, Count: 1},
		{Op: opPut, Workers: 0, Count: 1},
		{Op: opPut, Workers: 1},
		{Op: opGet, Workers: 1, Count: 1},
		{Op: opPut, Workers: 1, Count: 1, MinSize: 10, MaxSize: 5},
		{Op: opMixed, Workers: 1, Count: 1, PutPct: 101, NumObjects: 1},
	}
	for _, s := range bad {
		if s.validate() == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}
