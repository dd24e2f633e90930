package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

// encode slices obj with the streaming encoder, writing it in uneven pieces.
func encode(t *testing.T, obj []byte, d, p, block int) [][]byte {
	t.Helper()
	bufs := make([]*bytes.Buffer, d+p)
	ws := make([]io.Writer, d+p)
	for i := range bufs {
		bufs[i] = &bytes.Buffer{}
		ws[i] = bufs[i]
	}
	e, err := NewEncoder(d, p, block, ws)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(len(obj)), 7))
	for rest := obj; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(3*block))
		if n, err := e.Write(rest[:k]); err != nil || n != k {
			t.Fatalf("write: %d, %v", n, err)
		}
		rest = rest[k:]
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, d+p)
	for i := range bufs {
		out[i] = bufs[i].Bytes()
		if want := SliceSize(int64(len(obj)), d, block); int64(len(out[i])) != want {
			t.Fatalf("slice %d holds %d bytes, SliceSize says %d", i, len(out[i]), want)
		}
	}
	return out
}

// lostSets returns every subset of {0..n-1} with at most k members.
func lostSets(n, k int) [][]int {
	var out [][]int
	for mask := 0; mask < 1<<n; mask++ {
		var set []int
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				set = append(set, i)
			}
		}
		if len(set) <= k {
			out = append(out, set)
		}
	}
	return out
}

func TestECRoundTripEveryLoss(t *testing.T) {
	const block = 64
	layouts := []struct{ d, p int }{{1, 1}, {2, 1}, {2, 2}, {3, 2}, {4, 2}}
	sizes := []int{0, 1, 2, 3, 63, 64, 127, 128, 129, 191, 192, 1000, 4*64*3 + 5, 10007}
	for _, l := range layouts {
		for _, size := range sizes {
			obj := make([]byte, size)
			rng := rand.New(rand.NewPCG(uint64(size), uint64(l.d)))
			for i := range obj {
				obj[i] = byte(rng.Uint32())
			}
			sl := encode(t, obj, l.d, l.p, block)
			for _, lost := range lostSets(l.d+l.p, l.p) {
				t.Run(fmt.Sprintf("%d+%d/size=%d/lost=%v", l.d, l.p, size, lost), func(t *testing.T) {
					readers := make([]io.Reader, l.d+l.p)
					rebuilt := make([]*bytes.Buffer, l.d+l.p)
					rebuild := make([]io.Writer, l.d+l.p)
					for i := range readers {
						readers[i] = bytes.NewReader(sl[i])
					}
					for _, i := range lost {
						readers[i] = nil
						rebuilt[i] = &bytes.Buffer{}
						rebuild[i] = rebuilt[i]
					}
					var got bytes.Buffer
					if err := Decode(&got, int64(size), l.d, l.p, block, readers, rebuild); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got.Bytes(), obj) {
						t.Fatalf("decoded %d bytes differ from the %d written", got.Len(), size)
					}
					for _, i := range lost {
						if !bytes.Equal(rebuilt[i].Bytes(), sl[i]) {
							t.Fatalf("rebuilt slice %d differs", i)
						}
					}
				})
			}
		}
	}
}

func TestECTooFewSlices(t *testing.T) {
	obj := bytes.Repeat([]byte("abc"), 1000)
	sl := encode(t, obj, 2, 1, 128)
	readers := []io.Reader{nil, nil, bytes.NewReader(sl[2])}
	var got bytes.Buffer
	err := Decode(&got, int64(len(obj)), 2, 1, 128, readers, nil)
	if !errors.Is(err, ErrTooFewSlices) {
		t.Fatalf("got %v, want ErrTooFewSlices", err)
	}
	if got.Len() != 0 {
		t.Fatalf("%d bytes written before the error", got.Len())
	}
	// A truncated slice is corruption, never short or wrong output.
	readers = []io.Reader{bytes.NewReader(sl[0][:10]), bytes.NewReader(sl[1]), nil}
	if err := Decode(io.Discard, int64(len(obj)), 2, 1, 128, readers, nil); !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("truncated slice: got %v, want ErrCorrupt", err)
	}
}

func TestECBadLayout(t *testing.T) {
	for _, l := range []struct{ d, p, block int }{{0, 1, 64}, {1, 0, 64}, {40, 40, 64}, {2, 1, 0}} {
		if _, err := NewEncoder(l.d, l.p, l.block, make([]io.Writer, l.d+l.p)); !errors.Is(err, meta.ErrInvalidRequest) {
			t.Errorf("%+v: got %v, want ErrInvalidRequest", l, err)
		}
	}
}

func TestSliceMetaRoundTrip(t *testing.T) {
	m := &SliceMeta{Kind: KindSlice, Index: 2, Data: 2, Parity: 1, Block: DefaultBlock, BucketID: 7,
		Name: "a/b/c", ObjSize: 12345, ObjVersion: 3, ObjMtime: 99, ObjChecksumType: meta.ChecksumHighway,
		ObjChecksum: bytes.Repeat([]byte{1}, 32), SliceChecksum: bytes.Repeat([]byte{2}, 32),
		Custom: map[string]string{"k": "v"}}
	raw := EncodeSliceMeta(m)
	got, err := DecodeSliceMeta(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SameObject(m) || got.Index != 2 || got.Custom["k"] != "v" || !bytes.Equal(got.SliceChecksum, m.SliceChecksum) {
		t.Fatalf("round trip: %+v", got)
	}
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x40
		if _, err := DecodeSliceMeta(bad); !errors.Is(err, meta.ErrCorrupt) {
			t.Fatalf("flipped byte %d: got %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := DecodeSliceMeta(raw[:len(raw)-5]); !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("truncated: got %v", err)
	}
}
