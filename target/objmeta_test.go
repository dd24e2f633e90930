package target

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aisfoundry/ais/meta"
)

func TestObjMetaRoundTrip(t *testing.T) {
	tests := []ObjectMeta{
		{Name: "a", BucketID: 1, Size: 0, Version: 1, Mtime: 1, ChecksumType: meta.ChecksumNone},
		{Name: "dir/x.tar", BucketID: 1<<63 + 5, Size: 1 << 40, Version: 99, Mtime: 1750000000123456789, Epoch: 42,
			ChecksumType: meta.ChecksumHighway, Checksum: make([]byte, 32)},
		{Name: strings.Repeat("n", 1024), BucketID: 7, Size: 5, Version: 2, Mtime: 3,
			ChecksumType: meta.ChecksumMD5, Checksum: []byte("0123456789abcdef"),
			Custom: map[string]string{"b": "2", "a": "1", "": "empty key"}},
	}
	for _, m := range tests {
		t.Run(m.Name[:1], func(t *testing.T) {
			raw, err := encodeObjMeta(&m)
			if err != nil {
				t.Fatal(err)
			}
			if raw[0] != objMetaV2 {
				t.Fatalf("first byte %d, want version %d", raw[0], objMetaV2)
			}
			got, err := decodeObjMeta(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&m, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestObjMetaV1StillReads: a record written before the write epoch existed reads as epoch 0.
func TestObjMetaV1StillReads(t *testing.T) {
	m := ObjectMeta{Name: "old", BucketID: 2, Size: 3, Version: 4, Mtime: 5, Epoch: 6, ChecksumType: meta.ChecksumNone}
	raw, err := encodeObjMeta(&m)
	if err != nil {
		t.Fatal(err)
	}
	v1 := append([]byte{objMetaV1}, raw[1:33]...)
	v1 = append(v1, raw[41:len(raw)-4]...)
	v1 = binary.BigEndian.AppendUint32(v1, crc32.Checksum(v1, crcTable))
	got, err := decodeObjMeta(v1)
	if err != nil {
		t.Fatal(err)
	}
	m.Epoch = 0
	if diff := cmp.Diff(&m, got); diff != "" {
		t.Fatalf("v1 record (-want +got):\n%s", diff)
	}
}

func TestObjMetaCustomOrderIsStable(t *testing.T) {
	m := ObjectMeta{Name: "x", ChecksumType: meta.ChecksumNone, Custom: map[string]string{}}
	for _, k := range []string{"z", "y", "x", "w", "v", "u"} {
		m.Custom[k] = k + k
	}
	first, _ := encodeObjMeta(&m)
	for range 20 {
		again, _ := encodeObjMeta(&m)
		if string(again) != string(first) {
			t.Fatal("encoding depends on map order")
		}
	}
}

func TestObjMetaCorruptionDetected(t *testing.T) {
	m := ObjectMeta{Name: "dir/obj", BucketID: 3, Size: 10, Version: 4, Mtime: 5,
		ChecksumType: meta.ChecksumCRC32C, Checksum: []byte{1, 2, 3, 4}, Custom: map[string]string{"k": "v"}}
	raw, err := encodeObjMeta(&m)
	if err != nil {
		t.Fatal(err)
	}
	// Every single flipped bit anywhere in the record is caught.
	for i := range raw {
		for bit := range 8 {
			bad := append([]byte(nil), raw...)
			bad[i] ^= 1 << bit
			if _, err := decodeObjMeta(bad); !errors.Is(err, meta.ErrCorrupt) {
				t.Fatalf("flip byte %d bit %d: got %v, want ErrCorrupt", i, bit, err)
			}
		}
	}
	for n := range len(raw) {
		if _, err := decodeObjMeta(raw[:n]); !errors.Is(err, meta.ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := decodeObjMeta(append(raw, 0)); !errors.Is(err, meta.ErrCorrupt) {
		t.Fatalf("extra byte: got %v, want ErrCorrupt", err)
	}
}

func TestObjMetaTooLarge(t *testing.T) {
	m := ObjectMeta{Name: "x", ChecksumType: meta.ChecksumNone, Custom: map[string]string{"big": strings.Repeat("v", 4000)}}
	if _, err := encodeObjMeta(&m); !errors.Is(err, meta.ErrInvalidRequest) {
		t.Fatalf("got %v, want ErrInvalidRequest", err)
	}
}

func TestObjectMetaETag(t *testing.T) {
	m := ObjectMeta{Version: 3, ChecksumType: meta.ChecksumNone}
	if got := m.ETag(); got != `"v3"` {
		t.Errorf("ETag without checksum = %s", got)
	}
	m.Checksum = []byte{0xab, 0xcd}
	if got := m.ETag(); got != `"abcd"` {
		t.Errorf("ETag = %s", got)
	}
}
