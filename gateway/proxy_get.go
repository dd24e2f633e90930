package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// A GET in proxy mode moves the object's bytes from the target's socket to the client's
// without copying them through the gateway's memory: the gateway sends the request on a
// keep-alive connection of its own, reads the answer's header, and hands the connection to the
// client connection's ReadFrom, which on Linux splices socket to socket. net/http's client would
// give the body only as a buffered reader, which must be copied. Other methods (and answers
// without a Content-Length) take the reverse proxy. A target on the gateway's own machine is
// asked over its same-host hand-off instead (handoff.go): the bytes come from its open file.

// rawConns keeps idle keep-alive connections to targets, per key (a target's HOST:PORT, or its
// hand-off socket: handoff.go). It is safe for concurrent use.
type rawConns struct {
	dial        func(ctx context.Context, key string) (*rawConn, error)
	maxIdle     int           // per key
	idleTimeout time.Duration // an idle connection older than this is closed, not reused
	mu          struct {
		sync.Mutex
		idle   map[string][]*rawConn
		closed bool
	}
}

type rawConn struct {
	c    net.Conn // *net.TCPConn, or *net.UnixConn for a hand-off
	br   *bufio.Reader
	bw   *bufio.Writer
	key  string
	used time.Time
	// A hand-off connection (handoff.go; nil on TCP) and the file of its last answer, not yet
	// sent (nil when there is none).
	hand *api.HandoffConn
	file *os.File
}

// newRawConns returns an empty pool of TCP connections whose dialer sets socket options with
// control (may be nil).
func newRawConns(control func(network, address string, c syscall.RawConn) error) *rawConns {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: control}
	return newConnPool(func(ctx context.Context, host string) (*rawConn, error) {
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return nil, err
		}
		tc, ok := c.(*net.TCPConn)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("dial %s: not a TCP connection", host)
		}
		return &rawConn{c: tc, br: bufio.NewReaderSize(tc, 4<<10), bw: bufio.NewWriterSize(tc, 4<<10)}, nil
	})
}

func newConnPool(dial func(ctx context.Context, key string) (*rawConn, error)) *rawConns {
	p := &rawConns{dial: dial, maxIdle: 64, idleTimeout: 50 * time.Second}
	p.mu.idle = map[string][]*rawConn{}
	return p
}

// get returns an idle connection for key (reused true) or dials a new one.
func (p *rawConns) get(ctx context.Context, key string) (*rawConn, bool, error) {
	now := time.Now()
	p.mu.Lock()
	for l := p.mu.idle[key]; len(l) > 0; l = p.mu.idle[key] {
		rc := l[len(l)-1]
		p.mu.idle[key] = l[:len(l)-1]
		if now.Sub(rc.used) < p.idleTimeout {
			p.mu.Unlock()
			return rc, true, nil
		}
		rc.close()
	}
	p.mu.Unlock()
	rc, err := p.dial(ctx, key)
	if err != nil {
		return nil, false, err
	}
	rc.key = key
	return rc, false, nil
}

// put keeps rc for the next request to its host.
func (p *rawConns) put(rc *rawConn) {
	rc.used = time.Now()
	p.mu.Lock()
	if p.mu.closed || len(p.mu.idle[rc.key]) >= p.maxIdle {
		p.mu.Unlock()
		rc.close()
		return
	}
	p.mu.idle[rc.key] = append(p.mu.idle[rc.key], rc)
	p.mu.Unlock()
}

// close closes every idle connection; later ones are closed when they are put back.
func (p *rawConns) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.closed = true
	for h, l := range p.mu.idle {
		for _, rc := range l {
			rc.close()
		}
		delete(p.mu.idle, h)
	}
}

// proxyGet streams a GET from the target URL u to w (the server's own ResponseWriter).
func (g *Gateway) proxyGet(w http.ResponseWriter, r *http.Request, owner meta.Node, u *url.URL) {
	ctx := r.Context()
	hdr := make(http.Header, len(r.Header)+1)
	for k, vs := range r.Header {
		if !hopByHop[k] {
			hdr[k] = vs
		}
	}
	requestID := r.Header.Get(api.HeaderRequestID)
	rc, resp, err := g.rawGet(ctx, owner, u, hdr)
	if err != nil {
		w.Header().Set(api.HeaderRequestID, requestID)
		api.WriteError(w, r, fmt.Errorf("%w: gateway: proxy to target: %v", meta.ErrUnavailable, err))
		return
	}
	if resp.StatusCode == http.StatusMisdirectedRequest {
		g.follower.Refresh() // the target is at a newer epoch
	}
	h := w.Header()
	for k, vs := range resp.Header {
		if !hopByHop[k] {
			h[k] = vs
		}
	}
	h.Set(api.HeaderRequestID, requestID)
	w.WriteHeader(resp.StatusCode)
	if err := g.rawBody(ctx, w, rc, resp); err != nil {
		g.log.Debug("proxied GET cut short", "path", r.URL.Path, "err", err)
		// The header is out: abort the client's connection, so it sees the body end early.
		panic(http.ErrAbortHandler)
	}
}

// rawGet sends a GET with header hdr to the target URL u of owner on a kept (or new) raw
// connection and returns the connection with the answer's header read: the owner's same-host
// hand-off if it has one the gateway can reach (handoff.go), else TCP. The caller hands both
// to rawBody, or closes the connection.
func (g *Gateway) rawGet(ctx context.Context, owner meta.Node, u *url.URL, hdr http.Header) (*rawConn, *http.Response, error) {
	out := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: hdr}
	// The target reads the epoch from the signed query; a client's hint is for the gateway.
	out.Header.Set(api.HeaderEpoch, api.QueryValue(u.RawQuery, api.QueryEpoch))
	if key, ok := g.handoff.key(owner); ok {
		rc, resp, err := g.handoffGet(ctx, key, out)
		if err == nil {
			return rc, resp, nil
		}
		if ctx.Err() != nil {
			return nil, nil, err
		}
		g.handoff.failed(key, err) // nothing went to the client yet: TCP
	}
	for attempt := 0; ; attempt++ {
		rc, reused, err := g.raw.get(ctx, u.Host)
		if err != nil {
			return nil, nil, err
		}
		resp, err := roundTrip(ctx, rc, out)
		if err == nil {
			return rc, resp, nil
		}
		rc.close()
		// A kept connection the target closed meanwhile fails at once: try a new one.
		if !reused || attempt > 0 || ctx.Err() != nil {
			return nil, nil, err
		}
	}
}

// rawBody streams the body of resp, read from rc, to w: what the header read already buffered
// first, the rest spliced socket to socket. It keeps rc for reuse when the body was read to its
// end, and closes it otherwise. An error means the body was cut short.
func (g *Gateway) rawBody(ctx context.Context, w io.Writer, rc *rawConn, resp *http.Response) error {
	if rc.hand != nil {
		return g.handoffBody(ctx, w, rc, resp)
	}
	// Cancel a stalled transfer when the client goes away.
	stop := context.AfterFunc(ctx, func() { _ = rc.c.SetDeadline(time.Unix(1, 0)) })
	var err error
	if n := resp.ContentLength; n >= 0 && len(resp.TransferEncoding) == 0 {
		k := min(int64(rc.br.Buffered()), n)
		if k > 0 {
			b, _ := rc.br.Peek(int(k))
			_, err = w.Write(b)
			_, _ = rc.br.Discard(int(k))
		}
		if err == nil && n > k {
			lr := &io.LimitedReader{R: rc.c, N: n - k}
			_, err = io.Copy(w, lr)
			if err == nil && lr.N > 0 {
				err = io.ErrUnexpectedEOF
			}
		}
	} else {
		_, err = io.Copy(w, resp.Body)
		resp.Body.Close()
		resp.Close = true
	}
	if !stop() || err != nil || resp.Close {
		rc.close()
	} else {
		g.raw.put(rc)
	}
	return err
}

// roundTrip sends req on rc and reads the answer's header.
func roundTrip(ctx context.Context, rc *rawConn, req *http.Request) (*http.Response, error) {
	stop := context.AfterFunc(ctx, func() { _ = rc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := req.Write(rc.bw); err != nil {
		return nil, err
	}
	if err := rc.bw.Flush(); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(rc.br, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return resp, nil
}

// hopByHop are the headers that do not pass through a proxy (RFC 9110 section 7.6.1), and
// those the gateway sets itself.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Expect": true, "Host": true,
}

// proxyBuffers lends the reverse proxy its copy buffers (32 KiB each) from a pool, instead of
// one new buffer per proxied request.
type proxyBuffers struct{}

var proxyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (proxyBuffers) Get() []byte { return *proxyBufPool.Get().(*[]byte) }

func (proxyBuffers) Put(b []byte) {
	if cap(b) == 32<<10 {
		b = b[:cap(b)]
		proxyBufPool.Put(&b)
	}
}
