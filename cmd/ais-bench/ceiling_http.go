package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ceilingServer is the HTTP ceiling: the least an HTTP object server must do. GET /o/NAME sends
// the file DIR/NAME (sendfile, one range supported); PUT /o/NAME writes the body into it
// (through a pooled buffer, fsynced with ?fsync=true). No checksums, no metadata, no routing:
// whatever AIS does on top of this is overhead.
type ceilingServer struct {
	dir  string
	bufs sync.Pool
}

func newCeilingServer(dir string) *ceilingServer {
	s := &ceilingServer{dir: dir}
	s.bufs.New = func() any { b := make([]byte, 256<<10); return &b }
	return s
}

func (s *ceilingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/o/")
	if !ok || name == "" || strings.HasPrefix(name, ".") {
		http.Error(w, "want /o/NAME", http.StatusNotFound)
		return
	}
	path := filepath.Join(s.dir, flatName(name))
	switch r.Method {
	case http.MethodGet:
		s.get(w, r, path)
	case http.MethodPut:
		s.put(w, r, path)
	default:
		http.Error(w, "GET or PUT", http.StatusMethodNotAllowed)
	}
}

func (s *ceilingServer) get(w http.ResponseWriter, r *http.Request, path string) {
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	off, n, status := int64(0), fi.Size(), http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" {
		a, b, ok := parseSimpleRange(rng, fi.Size())
		if !ok {
			http.Error(w, "bad range", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		off, n, status = a, b-a+1, http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, fi.Size()))
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	// *os.File under an io.LimitedReader into the server's ResponseWriter: sendfile.
	_, _ = io.Copy(w, io.LimitReader(f, n))
}

// parseSimpleRange reads "bytes=a-b" or "bytes=a-" and returns the first and last byte.
func parseSimpleRange(h string, size int64) (int64, int64, bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, 0, false
	}
	as, bs, ok := strings.Cut(spec, "-")
	a, err := strconv.ParseInt(as, 10, 64)
	if !ok || err != nil || a >= size {
		return 0, 0, false
	}
	b := size - 1
	if bs != "" {
		if b, err = strconv.ParseInt(bs, 10, 64); err != nil || b < a {
			return 0, 0, false
		}
		b = min(b, size-1)
	}
	return a, b, true
}

// writerOnly hides *os.File's ReadFrom, whose generic fallback would allocate a buffer per call.
type writerOnly struct{ io.Writer }

func (s *ceilingServer) put(w http.ResponseWriter, r *http.Request, path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	bp := s.bufs.Get().(*[]byte)
	n, err := io.CopyBuffer(writerOnly{f}, r.Body, *bp)
	s.bufs.Put(bp)
	if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
		err = fmt.Errorf("short body: %d of %d bytes", n, r.ContentLength)
	}
	if err == nil && r.URL.Query().Get("fsync") == "true" {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// serveCeiling runs the ceiling server on ln until ctx ends.
func serveCeiling(ctx context.Context, ln net.Listener, dir string, log *slog.Logger) error {
	srv := &http.Server{Handler: newCeilingServer(dir), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
