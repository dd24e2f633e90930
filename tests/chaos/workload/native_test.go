package workload

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// TestClassify runs one PUT through a fake gateway and target per case and checks the
// history's verdict: only answers that prove the write did not happen may be Fail.
func TestClassify(t *testing.T) {
	cases := []struct {
		name    string
		target  func(w http.ResponseWriter, r *http.Request) // nil: nothing listens
		want    string
		reached bool // the target handler ran
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.ReadAll(r.Body) }, history.OK, true},
		{"refused 421", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = io.WriteString(w, `{"code":"StaleEpoch","message":"x","status":421}`)
		}, history.Fail, true},
		{"5xx after reading", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"code":"Internal","message":"x","status":500}`)
		}, history.Info, true},
		{"stale target refuses 503 StaleView", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"code":"StaleView","message":"x","status":503}`)
		}, history.Fail, true},
		{"503 Unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"code":"Unavailable","message":"x","status":503}`)
		}, history.Info, true},
		{"connection cut after the write", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}, history.Info, true},
		{"target not listening", nil, history.Fail, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			var targetURL string
			if tc.target != nil {
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					tc.target(w, r)
				}))
				defer ts.Close()
				targetURL = ts.URL
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				targetURL = "http://" + l.Addr().String()
				l.Close()
			}
			gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, targetURL+r.URL.Path+"?ais_epoch=3", http.StatusTemporaryRedirect)
			}))
			defer gw.Close()
			rec, err := history.Create(filepath.Join(t.TempDir(), "h.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Close()
			c, err := NewClient("c0", Native, gw.URL, "b", rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			e := c.Put(context.Background(), "k", 100)
			if e.Type != tc.want {
				t.Errorf("type = %s (%s), want %s", e.Type, e.Error, tc.want)
			}
			if got := hits.Load() > 0; got != tc.reached {
				t.Errorf("target reached = %v, want %v", got, tc.reached)
			}
			if hits.Load() > 1 {
				t.Errorf("target reached %d times: a hidden retry", hits.Load())
			}
		})
	}
}
