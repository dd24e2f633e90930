package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
)

// TestHandoffWire drives the target's end of the same-host hand-off (handoff.go) with the
// gateway's client (api.HandoffConn) over a real abstract socket: a file answer carries a
// descriptor positioned nowhere in particular, to be sent from its offset; an inline answer
// carries the bytes; a body shorter than its Content-Length closes the connection; a wrong
// target ID is refused.
func TestHandoffWire(t *testing.T) {
	data := make([]byte, 1<<20+5)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}
	path := filepath.Join(t.TempDir(), "obj")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) { // as sendRange does
		off, _ := strconv.ParseInt(r.URL.Query().Get("off"), 10, 64)
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		_, _ = f.Seek(off, io.SeekStart)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.Header().Set("Etag", `"v1"`)
		w.WriteHeader(http.StatusPartialContent)
		if _, err := io.Copy(w, io.LimitReader(f, n)); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/inline", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "11")
		_, _ = io.WriteString(w, "hello")
		w.(http.Flusher).Flush()
		_, _ = io.Copy(w, strings.NewReader(" world")) // not a file: framed bytes
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "only ten..")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":"ObjectNotFound"}`)
	})

	s := &Server{id: "t-wire", log: testLog(t), cfg: Config{ShutdownTimeout: time.Second}}
	addr := fmt.Sprintf("127.0.0.1:%d", os.Getpid()%50000+10000) // only names the socket
	hs := s.listenHandoff(addr)
	if hs == nil {
		t.Fatal("no hand-off listener")
	}
	hs.h = mux
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- hs.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	name := api.HandoffSocketName(addr)

	if _, err := api.DialHandoff(ctx, name, "t-other"); err == nil || !strings.Contains(err.Error(), "t-wire") {
		t.Fatalf("dial as the wrong target: %v, want a refusal naming t-wire", err)
	}
	hc, err := api.DialHandoff(ctx, name, "t-wire")
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	get := func(method, target string) (*api.HandoffAnswer, error) {
		req, _ := http.NewRequest(method, "http://target"+target, nil)
		return hc.RoundTrip(ctx, req)
	}

	for _, c := range []struct{ off, n int64 }{{0, int64(len(data))}, {4096, 100}, {int64(len(data)) - 1, 1}} {
		ans, err := get(http.MethodGet, fmt.Sprintf("/file?off=%d&n=%d", c.off, c.n))
		if err != nil {
			t.Fatal(err)
		}
		if ans.File == nil || ans.Off != c.off || ans.N != c.n || ans.Resp.StatusCode != http.StatusPartialContent ||
			ans.Resp.Header.Get("Etag") != `"v1"` {
			t.Fatalf("file answer %+v: file %v off %d n %d status %d header %v", c, ans.File != nil, ans.Off, ans.N,
				ans.Resp.StatusCode, ans.Resp.Header)
		}
		got := make([]byte, c.n)
		if _, err := ans.File.ReadAt(got, ans.Off); err != nil {
			t.Fatal(err)
		}
		ans.File.Close()
		if !bytes.Equal(got, data[c.off:c.off+c.n]) {
			t.Fatalf("file answer %+v: the descriptor's bytes differ", c)
		}
	}

	ans, err := get(http.MethodHead, "/file?off=0&n=10") // HEAD: the header, no descriptor
	if err != nil || ans.File != nil {
		t.Fatalf("HEAD: %v, file %v", err, ans != nil && ans.File != nil)
	}
	if b, err := io.ReadAll(ans.Resp.Body); err != nil || len(b) != 0 || ans.Resp.Header.Get("Content-Length") != "10" {
		t.Fatalf("HEAD body %q, %v, header %v", b, err, ans.Resp.Header)
	}

	for _, c := range []struct {
		path, body string
		status     int
	}{{"/inline", "hello world", 200}, {"/missing", `{"code":"ObjectNotFound"}`, 404}} {
		ans, err := get(http.MethodGet, c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(ans.Resp.Body)
		if err != nil || string(b) != c.body || ans.Resp.StatusCode != c.status || ans.File != nil {
			t.Fatalf("%s: %d %q %v, want %d %q", c.path, ans.Resp.StatusCode, b, err, c.status, c.body)
		}
	}

	ans, err = get(http.MethodPut, "/inline") // not served: a clear refusal
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(ans.Resp.Body); ans.Resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "GET and HEAD") {
		t.Fatalf("PUT: %d %s, want 400 naming GET and HEAD", ans.Resp.StatusCode, b)
	}

	ans, err = get(http.MethodGet, "/short")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(ans.Resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: read %q, %v; want io.ErrUnexpectedEOF", b, err)
	}
}
