package api

import (
	"net/url"
	"testing"
	"time"
)

// BenchmarkSignerVerify is the signature check a target makes on every object request.
func BenchmarkSignerVerify(b *testing.B) {
	s, err := NewSigner("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		b.Fatal(err)
	}
	path := "/v1/objects/bkt/train/images/class-0042/sample-0000123456.jpg"
	now := time.Unix(1_750_000_000, 0)
	q, err := url.ParseQuery(s.Sign("GET", path, 42, now.Add(5*time.Minute)).Encode())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify("GET", path, q, now); err != nil {
			b.Fatal(err)
		}
	}
}
