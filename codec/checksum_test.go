package codec

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func sum(t *testing.T, typ string, data []byte) string {
	t.Helper()
	h, err := NewHash(typ)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func TestNewHashKnownValues(t *testing.T) {
	tests := []struct {
		typ, in, want string
	}{
		{meta.ChecksumMD5, "", "d41d8cd98f00b204e9800998ecf8427e"},
		{meta.ChecksumMD5, "abc", "900150983cd24fb0d6963f7d28e17f72"},
		{meta.ChecksumSHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		// CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
		{meta.ChecksumCRC32C, "123456789", "e3069283"},
	}
	for _, tc := range tests {
		t.Run(tc.typ+"/"+tc.in, func(t *testing.T) {
			if got := sum(t, tc.typ, []byte(tc.in)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestHighwayGolden pins HighwayKey: if the key (or the library) changed, every stored
// checksum would stop matching.
func TestHighwayGolden(t *testing.T) {
	if string(HighwayKey[:]) != "AIS-HighwayHash-256-checksum-key" {
		t.Fatalf("HighwayKey changed: %q", HighwayKey[:])
	}
	got := sum(t, meta.ChecksumHighway, []byte("abc"))
	if len(got) != 64 {
		t.Fatalf("highway sum %s is not 32 bytes", got)
	}
	if again := sum(t, meta.ChecksumHighway, []byte("abc")); again != got {
		t.Fatalf("not deterministic: %s vs %s", got, again)
	}
	if other := sum(t, meta.ChecksumHighway, []byte("abd")); other == got {
		t.Fatalf("different inputs gave the same sum")
	}
	const golden = "12e6d2001ea5775790264b8c0fdfd0c615bdc01c84cd4ba9fed2a4af9d127583"
	if got != golden {
		t.Errorf("highway(abc) = %s, want %s", got, golden)
	}
}

func TestNewHashNoneAndUnknown(t *testing.T) {
	h, err := NewHash(meta.ChecksumNone)
	if h != nil || err != nil {
		t.Fatalf("none: got %v, %v; want nil, nil", h, err)
	}
	if _, err := NewHash("crc64"); !errors.Is(err, meta.ErrInvalidRequest) {
		t.Fatalf("unknown type: got %v, want ErrInvalidRequest", err)
	}
}

func TestSizeMatchesHash(t *testing.T) {
	for _, typ := range []string{meta.ChecksumHighway, meta.ChecksumMD5, meta.ChecksumCRC32C, meta.ChecksumSHA256} {
		h, _ := NewHash(typ)
		if h.Size() != Size(typ) {
			t.Errorf("%s: Size %d, hash size %d", typ, Size(typ), h.Size())
		}
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		typ, val string
		ok       bool
	}{
		{meta.ChecksumCRC32C, "E3069283", true},
		{meta.ChecksumCRC32C, "e3069283", true},
		{meta.ChecksumCRC32C, "e30692", false},
		{meta.ChecksumMD5, "zz", false},
		{meta.ChecksumSHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", true},
		{"crc64", "00", false},
		{meta.ChecksumNone, "", true},
	}
	for _, tc := range tests {
		_, err := ParseValue(tc.typ, tc.val)
		if (err == nil) != tc.ok {
			t.Errorf("ParseValue(%s, %q) = %v, want ok=%v", tc.typ, tc.val, err, tc.ok)
		}
		if err != nil && !errors.Is(err, meta.ErrInvalidRequest) {
			t.Errorf("error %v is not ErrInvalidRequest", err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for _, typ := range []string{meta.ChecksumHighway, meta.ChecksumMD5, meta.ChecksumCRC32C, meta.ChecksumSHA256} {
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			h, _ := NewHash(typ)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Reset()
				h.Write(buf)
				_ = h.Sum(nil)
			}
		})
	}
}
