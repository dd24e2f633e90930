package target

import (
	"testing"

	"github.com/aisfoundry/ais/meta"
)

// benchMeta is the record of a typical object: a HighwayHash checksum, a dataset-like name,
// and (in the S3 case) a little custom metadata.
func benchMeta(custom bool) *ObjectMeta {
	m := &ObjectMeta{Name: "train/images/class-0042/sample-0000123456.jpg", BucketID: 1<<40 + 7,
		Size: 1 << 20, Version: 3, Mtime: 1750000000123456789, ChecksumType: meta.ChecksumHighway,
		Checksum: make([]byte, 32)}
	if custom {
		m.Custom = map[string]string{"content-type": "image/jpeg", "etag": "0123456789abcdef0123456789abcdef"}
	}
	return m
}

// BenchmarkObjMetaEncode is the record written into the xattr on every PUT.
func BenchmarkObjMetaEncode(b *testing.B) {
	for _, custom := range []bool{false, true} {
		name := "plain"
		if custom {
			name = "custom"
		}
		b.Run(name, func(b *testing.B) {
			m := benchMeta(custom)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeObjMeta(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObjMetaDecode is the record read from the xattr on every GET and HEAD.
func BenchmarkObjMetaDecode(b *testing.B) {
	for _, custom := range []bool{false, true} {
		name := "plain"
		if custom {
			name = "custom"
		}
		b.Run(name, func(b *testing.B) {
			raw, err := encodeObjMeta(benchMeta(custom))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeObjMeta(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
