package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/aisfoundry/ais/meta"
)

const testSigningKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// TestSignatureFormat pins the signed string, "method\npath\nepoch\nexpiry", so that gateways
// and targets of different builds agree.
func TestSignatureFormat(t *testing.T) {
	s, err := NewSigner(testSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(testSigningKey)
	exp := time.Unix(1_750_000_300, 0)
	q := s.Sign("PUT", "/v1/objects/bkt/a b/ü", 42, exp)
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "PUT\n/v1/objects/bkt/a b/ü\n42\n%d", exp.Unix())
	if want := hex.EncodeToString(m.Sum(nil)); q.Get(QuerySig) != want {
		t.Fatalf("signature %s, want %s", q.Get(QuerySig), want)
	}
	if q.Get(QueryEpoch) != "42" || q.Get(QueryExpires) != "1750000300" {
		t.Fatalf("query %v", q)
	}
}

func TestSignerVerify(t *testing.T) {
	s, _ := NewSigner(testSigningKey)
	other, _ := NewSigner("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	now := time.Unix(1_750_000_000, 0)
	path := "/v1/objects/bkt/o"
	signed := s.Sign("GET", path, 7, now.Add(time.Minute))
	tests := []struct {
		name, method, path string
		q                  url.Values
		at                 time.Time
		ok                 bool
	}{
		{"good", "GET", path, signed, now, true},
		{"HEAD on a GET signature", "HEAD", path, signed, now, true},
		{"other method", "PUT", path, signed, now, false},
		{"other path", "GET", path + "x", signed, now, false},
		{"expired", "GET", path, signed, now.Add(2 * time.Minute), false},
		{"other key", "GET", path, other.Sign("GET", path, 7, now.Add(time.Minute)), now, false},
		{"unsigned", "GET", path, url.Values{}, now, false},
		{"epoch changed", "GET", path, url.Values{QueryEpoch: {"8"}, QueryExpires: signed[QueryExpires], QuerySig: signed[QuerySig]}, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			epoch, err := s.Verify(tt.method, tt.path, tt.q, tt.at)
			if tt.ok {
				if err != nil || epoch != 7 {
					t.Fatalf("Verify = %d, %v", epoch, err)
				}
				return
			}
			if !errors.Is(err, meta.ErrPermission) {
				t.Fatalf("Verify = %d, %v; want ErrPermission", epoch, err)
			}
		})
	}
}
