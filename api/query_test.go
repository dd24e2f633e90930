package api

import (
	"net/url"
	"testing"
)

// TestQueryValue checks QueryValue against url.ParseQuery on the queries the data path sees
// and on odd ones.
func TestQueryValue(t *testing.T) {
	queries := []string{
		"", "validate=true", "a=1&validate=1&validate=0", "validate", "validate=", "x=1&&validate=%74rue",
		"valid%61te=yes", "validate=a+b%20c", "validate=%zz&validate=ok", "v%zz=1&validate=2",
		"a;b=1&validate=3", "ais_epoch=7&ais_exp=1&ais_request_id=r-1&ais_sig=ab&ais_s3=1",
		"=x&validate=4", "validate=5=6",
	}
	for _, raw := range queries {
		q, _ := url.ParseQuery(raw)
		for _, key := range []string{"validate", "ais_s3", "ais_request_id", "missing", ""} {
			if got, want := QueryValue(raw, key), q.Get(key); got != want {
				t.Errorf("QueryValue(%q, %q) = %q, url.ParseQuery says %q", raw, key, got, want)
			}
		}
	}
}

func BenchmarkQueryValue(b *testing.B) {
	raw := "ais_epoch=7&ais_exp=1795611557&ais_request_id=5d23c39956c1d092&ais_sig=c1da6028c3805e42c2ce845b09645839b2021a2399e3a4c03062878017e1385d"
	b.ReportAllocs()
	for b.Loop() {
		_ = QueryValue(raw, "validate")
	}
}
