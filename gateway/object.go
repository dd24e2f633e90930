package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// defaultRedirectTTL applies when the cluster config has none.
const defaultRedirectTTL = 5 * time.Minute

// object routes PUT, GET, HEAD and DELETE of /v1/objects/{bucket}/{object...} to the owning
// target: a 307 redirect to a signed URL, or (--proxy, ?proxy=true) a stream through the gateway.
func (g *Gateway) object(c echo.Context) error {
	r := c.Request()
	bucket, object, err := parseObjectPath(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	ctx := r.Context()
	g.catchUp(ctx, r)
	v, b, err := g.lookupBucket(ctx, bucket)
	if err != nil {
		return err
	}
	s, err := g.signerOf(v)
	if err != nil {
		return err
	}
	ttl := v.Snap.Config.RedirectTTL.D()
	if ttl <= 0 {
		ttl = defaultRedirectTTL
	}
	q := r.URL.Query()
	rt, err := routeObject(v, s, r.Method, b, object, withRequestID(targetQuery(q), c), g.cfg.Now().Add(ttl))
	if err != nil {
		return err
	}
	if rt, err = routeAroundEC(v, s, r, b, object, rt, withRequestID(targetQuery(q), c), g.cfg.Now().Add(ttl)); err != nil {
		return err // route_ec.go: an EC read whose owner the client could not reach
	}
	// A client that asks for the redirect only (api.HeaderRedirectOnly: the Go client's PUTs,
	// sent without their body) gets it in proxy mode too.
	proxy, _ := strconv.ParseBool(q.Get("proxy"))
	if (proxy || g.cfg.Proxy) && r.Header.Get(api.HeaderRedirectOnly) == "" {
		u, err := rt.proxyTarget(g.cfg.ProxyToPublic) // the owner's data listener
		if err != nil {
			return err
		}
		ps := &proxyState{target: u}
		r = r.WithContext(context.WithValue(ctx, proxyKey{}, ps))
		if r.Body != nil && r.Body != http.NoBody {
			ps.body = &watchedBody{rc: r.Body}
			r.Body = ps.body
		}
		// The server's own writer, not echo's: the proxy forwards the target's 1xx answers
		// (100 Continue), which echo's writer would take for the final status. The request ID
		// comes back on the answer (ModifyResponse, ErrorHandler).
		w := c.Response().Writer
		w.Header().Del(api.HeaderRequestID)
		if r.Method == http.MethodGet {
			g.proxyGet(w, r, rt.Owner, u) // zero-copy (proxy_get.go)
			return nil
		}
		g.proxy.ServeHTTP(w, r)
		return nil
	}
	setEpoch(c, v.Snap.Epoch)
	return c.Redirect(http.StatusTemporaryRedirect, rt.URL)
}

// catchUp honours an Ais-Epoch request header (a client passing on the epoch a target answered
// with in a 421): if it is ahead of the gateway, wait (bounded) to reach it.
func (g *Gateway) catchUp(ctx context.Context, r *http.Request) {
	want, err := strconv.ParseUint(r.Header.Get(api.HeaderEpoch), 10, 64)
	if err != nil || want <= g.follower.Epoch() {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, min(g.cfg.EpochWait, 5*time.Second))
	defer cancel()
	if _, err := g.follower.WaitEpoch(wctx, want); err != nil {
		g.log.Debug("epoch named by the client not reached", "want", want, "have", g.follower.Epoch())
	}
}

type proxyKey struct{}

// proxyState is what the handler tells the reverse proxy about one request.
type proxyState struct {
	target *url.URL
	body   *watchedBody // nil without a body
}

// watchedBody remembers a failure to read the client's body, so that a body cut short is the
// client's error (400 IncompleteBody) and not the target's (503).
type watchedBody struct {
	rc  io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	return n, err
}

func (b *watchedBody) Close() error { return b.rc.Close() }

func (b *watchedBody) failed() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// newProxy returns the reverse proxy of proxy mode: it streams both ways (no buffering) over
// keep-alive connections to the signed target URL the handler put in the request's context.
func (g *Gateway) newProxy() *httputil.ReverseProxy {
	tr := api.ClusterTransport(nil, g.cfg.ClusterTCPCongestion, g.warnCongestion)
	// A body goes on only once the target asks for it, so a client that sent
	// "Expect: 100-continue" keeps its body when the target refuses the request (421, 403).
	tr.ExpectContinueTimeout = api.ExpectContinueTimeout
	return &httputil.ReverseProxy{
		BufferPool: proxyBuffers{}, // proxy_get.go
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := pr.In.Context().Value(proxyKey{}).(*proxyState).target
			pr.Out.URL, pr.Out.Host = u, ""
			// The target reads the epoch from the signed query; a client's epoch hint in
			// the header is for the gateway only.
			pr.Out.Header.Set(api.HeaderEpoch, u.Query().Get(api.QueryEpoch))
		},
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			// A forwarded 1xx answer clears the headers set before, so the request ID goes
			// on the final answer here.
			resp.Header.Set(api.HeaderRequestID, resp.Request.Header.Get(api.HeaderRequestID))
			if resp.StatusCode == http.StatusMisdirectedRequest {
				g.follower.Refresh() // the target is at a newer epoch
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Answer even when the request's context has ended: a client that half-closed
			// its side after a short body still reads the answer.
			w.Header().Set(api.HeaderRequestID, r.Header.Get(api.HeaderRequestID))
			ps, _ := r.Context().Value(proxyKey{}).(*proxyState)
			if ps != nil {
				if berr := ps.body.failed(); berr != nil {
					api.WriteError(w, r, fmt.Errorf("%w: gateway: read the request body: %v", meta.ErrIncompleteBody, berr))
					return
				}
			}
			api.WriteError(w, r, fmt.Errorf("%w: gateway: proxy to target: %v", meta.ErrUnavailable, err))
		},
	}
}
