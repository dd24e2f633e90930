package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// ObjectAttrs are an object's attributes as a target reports them in response headers.
type ObjectAttrs struct {
	Size          int64 // the whole object's size, also for a range read
	ChecksumType  string
	ChecksumValue string // hex
	Version       uint64
	ETag          string
	LastModified  time.Time
}

// PutOptions are optional settings of PutObject.
type PutOptions struct {
	// ChecksumType and ChecksumValue (hex) are the client's checksum of the body; the target
	// verifies it and refuses the object (meta.ErrBadDigest) on a mismatch.
	ChecksumType  string
	ChecksumValue string
}

// GetOptions are optional settings of GetObject.
type GetOptions struct {
	// Offset and Length select a byte range; Length 0 means "to the end".
	Offset, Length int64
	// Validate asks the target to verify the stored checksum while it reads.
	Validate bool
}

// PutObject stores an object. r must yield exactly size bytes; size < 0 means unknown (the
// body is sent chunked). If r is an io.Seeker, the body is rewound and sent again when the
// request must be retried; otherwise a retry is possible only while nothing was sent yet.
func (c *Client) PutObject(ctx context.Context, bucket, name string, r io.Reader, size int64, opts *PutOptions) (*ObjectAttrs, error) {
	h := http.Header{}
	if opts != nil {
		if opts.ChecksumType != "" {
			h.Set(HeaderChecksumType, opts.ChecksumType)
		}
		if opts.ChecksumValue != "" {
			h.Set(HeaderChecksumValue, opts.ChecksumValue)
		}
	}
	var body *putBody
	if size != 0 && r != nil {
		body = newPutBody(r)
	} else {
		size = 0
	}
	resp, err := c.objectDo(ctx, http.MethodPut, bucket, name, nil, h, body, size)
	if err != nil {
		return nil, wrapf("put", bucket, name, err)
	}
	defer drainClose(resp)
	a := attrsOf(resp)
	a.Size = size
	if size < 0 {
		a.Size = body.read
	}
	return a, nil
}

// GetObject reads an object (or the range opts asks for). The caller closes the reader.
func (c *Client) GetObject(ctx context.Context, bucket, name string, opts *GetOptions) (io.ReadCloser, *ObjectAttrs, error) {
	h := http.Header{}
	q := url.Values{}
	if opts != nil {
		if opts.Offset < 0 || opts.Length < 0 {
			return nil, nil, wrapf("get", bucket, name,
				fmt.Errorf("%w: offset and length must not be negative", meta.ErrInvalidRequest))
		}
		switch {
		case opts.Length > 0:
			h.Set("Range", fmt.Sprintf("bytes=%d-%d", opts.Offset, opts.Offset+opts.Length-1))
		case opts.Offset > 0:
			h.Set("Range", fmt.Sprintf("bytes=%d-", opts.Offset))
		}
		if opts.Validate {
			q.Set("validate", "true")
		}
	}
	resp, err := c.objectDo(ctx, http.MethodGet, bucket, name, q, h, nil, 0)
	if err != nil {
		return nil, nil, wrapf("get", bucket, name, err)
	}
	return resp.Body, attrsOf(resp), nil
}

// HeadObject returns an object's attributes.
func (c *Client) HeadObject(ctx context.Context, bucket, name string) (*ObjectAttrs, error) {
	resp, err := c.objectDo(ctx, http.MethodHead, bucket, name, nil, nil, nil, 0)
	if err != nil {
		return nil, wrapf("head", bucket, name, err)
	}
	drainClose(resp)
	return attrsOf(resp), nil
}

// DeleteObject removes an object.
func (c *Client) DeleteObject(ctx context.Context, bucket, name string) error {
	resp, err := c.objectDo(ctx, http.MethodDelete, bucket, name, nil, nil, nil, 0)
	if err != nil {
		return wrapf("delete", bucket, name, err)
	}
	drainClose(resp)
	return nil
}

// objectDo sends one object request to the gateway, follows its redirect to the target, and
// starts over at the gateway when an answer says to retry. A redirect it has seen for the same
// method and object (and not yet expired) is used directly, in one round trip. It returns a
// 2xx response whose body the caller closes.
func (c *Client) objectDo(ctx context.Context, method, bucket, name string, q url.Values, h http.Header,
	body *putBody, size int64) (*http.Response, error) {
	if q == nil {
		q = url.Values{}
	}
	// Only plain requests are cached: query parameters (validate=true) go into the signed URL.
	var cache *redirectCache
	if !c.Proxy && len(q) == 0 {
		cache = c.redirectCache()
	}
	key := redirectKey(method, bucket, name)
	if c.Proxy {
		q.Set("proxy", "true")
	}
	gw := c.base + ObjectPath(bucket, name)
	if len(q) > 0 {
		gw += "?" + q.Encode()
	}
	// A PUT asks the gateway only where to go, without its body (see HeaderRedirectOnly).
	routeOnly := method == http.MethodPut && body != nil && !c.Proxy
	var gwHdr http.Header
	if routeOnly {
		gwHdr = http.Header{HeaderRedirectOnly: {"true"}}
	}
	var hint uint64        // an epoch a target named in a 421 answer; the gateway waits for it
	var unreachable string // a target this request could not connect to (HeaderUnreachable)
	var lastErr error
	for attempt := 0; attempt < c.maxAttempts(); attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, fmt.Errorf("%w (last answer: %v)", err, lastErr)
			}
			if err := body.rewind(); err != nil {
				return nil, fmt.Errorf("cannot retry (%w) after: %w", err, lastErr)
			}
		}
		if cache != nil && attempt == 0 {
			if resp, done, err := c.tryCached(ctx, cache, key, method, h, body, size); done {
				return resp, err
			}
		}
		var resp *http.Response
		var err error
		gh := h
		if unreachable != "" {
			gh = h.Clone()
			if gh == nil {
				gh = http.Header{}
			}
			gh.Set(HeaderUnreachable, unreachable)
		}
		if routeOnly {
			resp, err = c.hop(ctx, method, gw, gwHdr, nil, 0, hint, true)
		} else {
			resp, err = c.hop(ctx, method, gw, gh, body, size, hint, true)
		}
		redirected := false
		for hops := 0; err == nil && isRedirect(resp.StatusCode); hops++ {
			redirected = true
			loc, lerr := resp.Location()
			drainClose(resp)
			switch {
			case lerr != nil:
				err = fmt.Errorf("api: %s %s: redirect without a usable Location: %v", method, gw, lerr)
			case hops >= 5:
				err = fmt.Errorf("api: %s %s: too many redirects", method, gw)
			default:
				if cache != nil && hops == 0 {
					cache.put(key, loc)
				}
				if err = body.rewind(); err == nil {
					resp, err = c.hop(ctx, method, loc.String(), h, body, size, 0, false)
					var ce *connError
					if errors.As(err, &ce) && (method == http.MethodGet || method == http.MethodHead) {
						unreachable = loc.Host // the gateway may route around it (EC buckets)
						if cache != nil {
							cache.drop(key)
						}
					}
				}
			}
		}
		if err == nil && routeOnly && !redirected && resp.StatusCode < 300 {
			// Only a gateway that ignored HeaderRedirectOnly answers 2xx here.
			drainClose(resp)
			return nil, fmt.Errorf("api: %s %s: the gateway answered %s instead of a redirect", method, gw, resp.Status)
		}
		if err != nil {
			if !isRetry(err) || ctx.Err() != nil {
				return nil, err
			}
			lastErr = err
			continue
		}
		if resp.StatusCode < 300 {
			return resp, nil
		}
		err = ReadError(resp)
		if resp.StatusCode == http.StatusMisdirectedRequest {
			if e, perr := strconv.ParseUint(resp.Header.Get(HeaderEpoch), 10, 64); perr == nil && e > hint {
				hint = e
			}
			if cache != nil {
				cache.drop(key)
			}
		}
		drainClose(resp)
		if !isRetry(err) {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// redirectCache returns the client's cache of redirects, or nil if it is off.
func (c *Client) redirectCache() *redirectCache {
	c.cacheOnce.Do(func() {
		size := c.RedirectCacheSize
		if size == 0 {
			size = DefaultRedirectCacheSize
		}
		if size > 0 {
			c.redirects = newRedirectCache(size, time.Now)
		}
	})
	return c.redirects
}

// tryCached sends the request to a cached target URL, if there is one. done says the answer is
// final (a 2xx response, or an error that the gateway would not change); otherwise the URL is
// forgotten, the body rewound, and the caller asks the gateway.
func (c *Client) tryCached(ctx context.Context, cache *redirectCache, key, method string, h http.Header,
	body *putBody, size int64) (*http.Response, bool, error) {
	u, ok := cache.get(key)
	if !ok {
		return nil, false, nil
	}
	resp, err := c.hop(ctx, method, u, h, body, size, 0, false)
	switch {
	case err == nil && resp.StatusCode < 300:
		return resp, true, nil
	case err != nil && ctx.Err() != nil:
		return nil, true, err
	case err == nil && !staleTarget(resp.StatusCode):
		// A real answer (404 ObjectNotFound, 416, ...): the gateway would send us here again.
		err = ReadError(resp)
		drainClose(resp)
		return nil, true, err
	}
	if resp != nil {
		drainClose(resp)
	}
	cache.drop(key)
	if rerr := body.rewind(); rerr != nil {
		return nil, true, fmt.Errorf("cannot ask the gateway again (%w) after a cached redirect failed", rerr)
	}
	return nil, false, nil
}

// staleTarget reports whether an answer to a cached target URL means the URL is no good any
// more: the target is not the owner at its epoch (421), the signature is not accepted (403),
// the target or a redirect is not what it was (3xx), or it is unavailable.
func staleTarget(status int) bool {
	switch {
	case status >= 300 && status < 400, status == http.StatusForbidden, status == http.StatusMisdirectedRequest,
		status == http.StatusServiceUnavailable, status == http.StatusBadGateway, status == http.StatusGatewayTimeout:
		return true
	}
	return false
}

// hop sends one HTTP request of an object operation. A PUT body goes with "Expect:
// 100-continue" when it must not be spent on an answer that sends the client elsewhere: always
// to a redirecting gateway, and to anyone when it cannot be rewound.
func (c *Client) hop(ctx context.Context, method, u string, h http.Header, body *putBody, size int64,
	hint uint64, toGateway bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("api: %s %s: %w", method, u, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	var att *bodyAttempt
	if method == http.MethodPut {
		if body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			att = &bodyAttempt{b: body}
			req.Body, req.ContentLength = att, size
			if size < 0 {
				req.ContentLength = -1
			}
			if body.seeker == nil || (toGateway && !c.Proxy) {
				req.Header.Set("Expect", "100-continue")
			}
		}
	}
	if hint > 0 {
		req.Header.Set(HeaderEpoch, strconv.FormatUint(hint, 10))
	}
	resp, err := c.hc.Do(req)
	if att != nil {
		att.detach()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &connError{base: req.URL.Host, err: err}
	}
	return resp, nil
}

func isRedirect(status int) bool {
	return status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect
}

func drainClose(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// attrsOf reads object attributes from response headers.
func attrsOf(resp *http.Response) *ObjectAttrs {
	h := resp.Header
	a := &ObjectAttrs{
		Size:          resp.ContentLength,
		ChecksumType:  h.Get(HeaderChecksumType),
		ChecksumValue: h.Get(HeaderChecksumValue),
		ETag:          h.Get("ETag"),
	}
	a.Version, _ = strconv.ParseUint(h.Get(HeaderVersion), 10, 64)
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		a.LastModified = t
	}
	if resp.StatusCode == http.StatusPartialContent {
		// Content-Range: bytes first-last/total
		cr := h.Get("Content-Range")
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				a.Size = n
			}
		}
	}
	return a
}

// putBody is a PUT body offered to several requests in turn (gateway, target, retries). It
// counts what was read and rewinds when its source is an io.Seeker.
type putBody struct {
	r      io.Reader
	seeker io.Seeker
	start  int64
	read   int64
}

func newPutBody(r io.Reader) *putBody {
	b := &putBody{r: r}
	if s, ok := r.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			b.seeker, b.start = s, pos
		}
	}
	return b
}

// rewind makes the body whole again for the next request. A nil body is always whole.
func (b *putBody) rewind() error {
	if b == nil || b.read == 0 {
		return nil
	}
	if b.seeker == nil {
		return errBodyConsumed
	}
	if _, err := b.seeker.Seek(b.start, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the request body: %w", err)
	}
	b.read = 0
	return nil
}

var errAttemptOver = errors.New("api: request body read after its request ended")

// bodyAttempt lends a putBody to one request. The transport may go on reading a body after it
// returned the response (and closes it when it likes); detach ends the loan, so the next request
// has the body to itself. Close does not close the caller's reader.
type bodyAttempt struct {
	mu   sync.Mutex
	b    *putBody
	done bool
}

func (a *bodyAttempt) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return 0, errAttemptOver
	}
	n, err := a.b.r.Read(p)
	a.b.read += int64(n)
	return n, err
}

func (a *bodyAttempt) Close() error { return nil }

func (a *bodyAttempt) detach() {
	a.mu.Lock()
	a.done = true
	a.mu.Unlock()
}
