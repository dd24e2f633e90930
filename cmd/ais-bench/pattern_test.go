package main

import (
	"errors"
	"io"
	"testing"
)

func TestPatternRoundTrip(t *testing.T) {
	p := newPattern()
	for _, size := range []int64{0, 1, 4096, patternLen - 1, patternLen + 12345, 3 * patternLen} {
		var r patReader
		r.reset(p, "obj", size)
		buf := make([]byte, 7777) // odd, so reads straddle the pattern's end
		var c checker
		c.reset(p, "obj", 0)
		var n int64
		for {
			k, err := r.Read(buf)
			if cerr := c.check(buf[:k]); cerr != nil {
				t.Fatalf("size %d: %v", size, cerr)
			}
			n += int64(k)
			if err == io.EOF {
				break
			}
		}
		if n != size {
			t.Fatalf("size %d: read %d bytes", size, n)
		}
	}
}

func TestPatternRangesAndRewind(t *testing.T) {
	p := newPattern()
	var r patReader
	r.reset(p, "a/b", 3*patternLen)
	whole := make([]byte, 3*patternLen)
	if _, err := io.ReadFull(&r, whole); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	again := make([]byte, 100)
	if _, err := io.ReadFull(&r, again); err != nil || string(again) != string(whole[:100]) {
		t.Fatalf("after Seek(0): %v", err)
	}
	// Any range checks against the same content.
	for _, off := range []int64{0, 1, patternLen - 3, 2*patternLen + 17} {
		var c checker
		c.reset(p, "a/b", off)
		if err := c.check(whole[off : off+1000]); err != nil {
			t.Fatalf("range at %d: %v", off, err)
		}
	}
	// Another object's bytes, or a flipped byte, do not pass.
	var c checker
	c.reset(p, "a/c", 0)
	if err := c.check(whole[:1000]); !errors.Is(err, errVerify) {
		t.Fatalf("another object's content: %v", err)
	}
	whole[500] ^= 1
	c.reset(p, "a/b", 0)
	if err := c.check(whole[:1000]); !errors.Is(err, errVerify) {
		t.Fatalf("a flipped byte: %v", err)
	}
}

func TestSizeOf(t *testing.T) {
	seen := map[int64]bool{}
	for i := range 1000 {
		name := nameOf("p/", int64(i))
		s := sizeOf(name, 100, 200)
		if s < 100 || s > 200 || s != sizeOf(name, 100, 200) {
			t.Fatalf("sizeOf(%s) = %d", name, s)
		}
		seen[s] = true
	}
	if len(seen) < 50 {
		t.Fatalf("only %d distinct sizes in [100, 200]", len(seen))
	}
	if sizeOf("x", 5, 5) != 5 {
		t.Fatal("fixed size")
	}
}

func TestNameOf(t *testing.T) {
	for in, want := range map[int64]string{0: "b/00000000", 42: "b/00000042", 123456789: "b/123456789"} {
		if got := nameOf("b/", in); got != want {
			t.Errorf("nameOf(%d) = %q, want %q", in, got, want)
		}
	}
}
