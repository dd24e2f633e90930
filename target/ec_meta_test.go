package target

import (
	"errors"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func TestObjMetaECLayout(t *testing.T) {
	base := ObjectMeta{Name: "a/b", BucketID: 3, Size: 10, Version: 2, Mtime: 5, Epoch: 7, ChecksumType: meta.ChecksumNone}
	raw, err := encodeObjMeta(&base)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != objMetaV2 {
		t.Fatalf("a record without EC layout is version %d, want 2", raw[0])
	}
	for _, info := range []ECInfo{{Data: 2, Parity: 1, Block: 128 << 10}, {Data: 4, Parity: 2, Block: 64, NoCopy: true},
		{Data: 2, Parity: 1, Block: 1, Replicated: true, NoCopy: true}} {
		m := base
		m.EC = &info
		raw, err := encodeObjMeta(&m)
		if err != nil {
			t.Fatal(err)
		}
		if raw[0] != objMetaV3 {
			t.Fatalf("record with EC layout is version %d, want 3", raw[0])
		}
		got, err := decodeObjMeta(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got.EC == nil || *got.EC != info || got.Size != 10 || got.Name != "a/b" || got.Epoch != 7 {
			t.Fatalf("round trip: %+v, EC %+v; want %+v", got, got.EC, info)
		}
		if got.EC.Sliced() != info.NoCopy {
			t.Fatalf("Sliced() = %v", got.EC.Sliced())
		}
		for i := 1; i < len(raw); i++ {
			if _, err := decodeObjMeta(raw[:i]); !errors.Is(err, meta.ErrCorrupt) {
				t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", i, err)
			}
		}
	}
	var none *ECInfo
	if none.Sliced() {
		t.Fatal("a nil layout is not sliced")
	}
}
