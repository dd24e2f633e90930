package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// NewHTTPClient returns an HTTP client tuned for talking to AIS nodes: keep-alive connections,
// many idle connections per host, no overall timeout (callers bound requests with contexts).
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     128 << 10,
		ReadBufferSize:      128 << 10,
	}
	return &http.Client{Transport: tr}
}

// endpoints is a set of equivalent base URLs (meta members, or gateways) tried in turn: a
// request that fails to connect, or is answered 503, moves on to the next one.
type endpoints struct {
	urls []string
	hc   *http.Client
	next atomic.Uint32
	// retryFor bounds how long one call keeps trying when every endpoint is unavailable.
	retryFor time.Duration
}

func newEndpoints(urls []string, hc *http.Client) (*endpoints, error) {
	if len(urls) == 0 {
		return nil, errors.New("api: no endpoint URLs")
	}
	clean := make([]string, len(urls))
	for i, u := range urls {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			u = "http://" + u
		}
		if _, err := url.Parse(u); err != nil {
			return nil, fmt.Errorf("api: endpoint %q: %w", urls[i], err)
		}
		clean[i] = u
	}
	if hc == nil {
		hc = NewHTTPClient()
	}
	return &endpoints{urls: clean, hc: hc, retryFor: 15 * time.Second}, nil
}

// call is one JSON request: in (if not nil) is the JSON body, out (if not nil) receives the
// JSON answer. A 304 answer leaves out untouched and returns errNotModified.
func (e *endpoints) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	_, err := e.callEpoch(ctx, method, path, q, in, out)
	return err
}

// callEpoch is call that also returns the Ais-Epoch header of the answer (0 if absent): meta
// answers every write with the epoch that holds it.
func (e *endpoints) callEpoch(ctx context.Context, method, path string, q url.Values, in, out any) (uint64, error) {
	var body []byte
	if in != nil {
		var err error
		if raw, ok := in.([]byte); ok {
			body = raw
		} else if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("api: encode %s %s: %w", method, path, err)
		}
	}
	deadline := time.Now().Add(e.retryFor)
	backoff := 50 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		base := e.urls[int(e.next.Load())%len(e.urls)]
		epoch, err := e.once(ctx, base, method, path, q, body, in != nil, out)
		if err == nil || errors.Is(err, errNotModified) {
			return epoch, err
		}
		if !retriable(err) || ctx.Err() != nil {
			return 0, err
		}
		lastErr = err
		e.next.Add(1)
		if attempt >= len(e.urls)-1 {
			if time.Now().After(deadline) {
				return 0, lastErr
			}
			select {
			case <-ctx.Done():
				return 0, lastErr
			case <-time.After(backoff):
			}
			if backoff < time.Second {
				backoff *= 2
			}
		}
	}
}

var errNotModified = errors.New("not modified")

func (e *endpoints) once(ctx context.Context, base, method, path string, q url.Values, body []byte, hasBody bool, out any) (uint64, error) {
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, &connError{base: base, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return 0, errNotModified
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, &connError{base: base, err: err}
	}
	if resp.StatusCode >= 300 {
		return 0, decodeError(resp, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("api: decode answer of %s %s: %w", method, path, err)
		}
	}
	epoch, _ := strconv.ParseUint(resp.Header.Get(HeaderEpoch), 10, 64)
	return epoch, nil
}

// connError is a failure to reach an endpoint at all.
type connError struct {
	base string
	err  error
}

func (c *connError) Error() string { return fmt.Sprintf("cannot reach %s: %v", c.base, c.err) }
func (c *connError) Unwrap() error { return meta.ErrUnavailable }

// retriable reports whether another endpoint (or a later try) may succeed.
func retriable(err error) bool {
	var ce *connError
	if errors.As(err, &ce) {
		return true
	}
	var we *Error
	if errors.As(err, &we) {
		return we.Status == http.StatusServiceUnavailable || we.Status == http.StatusBadGateway ||
			we.Status == http.StatusGatewayTimeout || we.Code == "StaleEpoch"
	}
	return false
}
