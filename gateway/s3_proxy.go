package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// An S3 object request goes to the object's owner on the same signed target URL as the native
// API's (routeObject), with ais_s3=1 asking the target for S3 semantics. Data streams through
// the gateway both ways without buffering.

// queryS3 is the target's query parameter for S3 semantics (target.QueryS3).
const queryS3 = "ais_s3"

// headerS3Checksum asks the target to compute and keep an S3 checksum whose value comes in a
// trailer (target.HeaderS3Checksum).
const headerS3Checksum = "Ais-S3-Checksum"

// targetCall is one request to an object's owner.
type targetCall struct {
	method string
	bucket meta.Bucket
	key    string
	query  url.Values  // S3 parameters for the target (uploadId, partNumber, response-*)
	header http.Header // headers for the target
	body   *s3Body     // nil: none
	size   int64       // the body's length
	raw    io.Reader   // a body without checks (copies); size applies
}

// hopHeaders are not passed between client, gateway and target.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Expect": true, "Host": true, "Content-Length": true,
	"Authorization": true, "X-Amz-Content-Sha256": true, "X-Amz-Decoded-Content-Length": true,
	"X-Amz-Trailer": true, "X-Amz-Date": true, "X-Amz-Security-Token": true,
}

// clientHeaders are the client's headers that go on to a target: all but hop-by-hop,
// signature and framing headers, with aws-chunked taken out of Content-Encoding.
func clientHeaders(r *http.Request) http.Header {
	h := make(http.Header, len(r.Header))
	for k, vs := range r.Header {
		if hopHeaders[k] || strings.HasPrefix(k, "Ais-") {
			continue
		}
		h[k] = vs
	}
	if ce := h.Get("Content-Encoding"); ce != "" {
		var keep []string
		for _, e := range strings.Split(ce, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				keep = append(keep, e)
			}
		}
		if len(keep) == 0 {
			h.Del("Content-Encoding")
		} else {
			h.Set("Content-Encoding", strings.Join(keep, ","))
		}
	}
	return h
}

// targetURLFor signs the URL of a call at the current epoch: on the owner's public listener
// for a client (redirect), on its data listener for the gateway itself (proxied, route.proxyTarget).
// It returns the owner with the URL.
func (g *Gateway) targetURLFor(ctx context.Context, tc *targetCall, proxied bool) (meta.Node, string, error) {
	v, err := g.view(ctx)
	if err != nil {
		return meta.Node{}, "", err
	}
	s, err := g.signerOf(v)
	if err != nil {
		return meta.Node{}, "", err
	}
	ttl := v.Snap.Config.RedirectTTL.D()
	if ttl <= 0 {
		ttl = defaultRedirectTTL
	}
	extra := url.Values{queryS3: {"1"}}
	for k, vs := range tc.query {
		extra[k] = vs
	}
	b := tc.bucket
	if cur, ok := v.Snap.Bucket(meta.ProviderAIS, b.Name); ok {
		b = cur
	}
	rt, err := routeObject(v, s, tc.method, b, tc.key, extra, g.cfg.Now().Add(ttl))
	if err != nil {
		return meta.Node{}, "", err
	}
	if !proxied {
		return rt.Owner, rt.URL, nil
	}
	u, err := rt.proxyTarget(g.cfg.ProxyToPublic)
	if err != nil {
		return meta.Node{}, "", err
	}
	return rt.Owner, u.String(), nil
}

// targetDo sends a call to the object's owner and returns its answer; an error answer
// becomes the error it stands for. A 421 (the target is at a newer epoch) is retried after
// the gateway catches up, as long as the body has not started to flow (the call asks
// "100-continue" first).
func (g *Gateway) targetDo(ctx context.Context, sr *s3Req, tc *targetCall) (*http.Response, error) {
	tr := g.proxy.Transport
	for attempt := 0; ; attempt++ {
		_, u, err := g.targetURLFor(ctx, tc, true)
		if err != nil {
			return nil, err
		}
		var body io.Reader
		switch {
		case tc.body != nil:
			body = tc.body
		case tc.raw != nil:
			body = tc.raw
		}
		req, err := http.NewRequestWithContext(ctx, tc.method, u, body)
		if err != nil {
			return nil, fmt.Errorf("gateway: s3 %s %s/%s: %w", tc.method, tc.bucket.Name, tc.key, err)
		}
		for k, vs := range tc.header {
			req.Header[k] = vs
		}
		req.Header.Set(api.HeaderRequestID, sr.id)
		if body != nil {
			req.ContentLength = tc.size
			if tc.size == 0 {
				req.Body = http.NoBody
			} else {
				req.Header.Set("Expect", "100-continue")
			}
		}
		resp, err := tr.RoundTrip(req)
		if berr := tc.body.failed(); berr != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, berr
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %v", meta.ErrIncompleteBody, ctx.Err())
			}
			return nil, fmt.Errorf("%w: gateway: s3 %s to target: %v", meta.ErrUnavailable, tc.method, err)
		}
		if resp.StatusCode < 400 || resp.StatusCode == http.StatusNotModified {
			return resp, nil
		}
		werr := api.ReadError(resp)
		resp.Body.Close()
		if resp.StatusCode == http.StatusMisdirectedRequest && attempt < 3 && !tc.body.touched() && tc.raw == nil {
			g.catchUpTo(ctx, resp.Header.Get(api.HeaderEpoch))
			continue
		}
		return nil, werr
	}
}

// catchUpTo waits (bounded) for the epoch a target named.
func (g *Gateway) catchUpTo(ctx context.Context, epoch string) {
	g.follower.Refresh()
	want, err := strconv.ParseUint(epoch, 10, 64)
	if err != nil || want <= g.follower.Epoch() {
		time.Sleep(50 * time.Millisecond)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, min(g.cfg.EpochWait, 5*time.Second))
	defer cancel()
	_, _ = g.follower.WaitEpoch(wctx, want)
}

// copyAnswerHeaders copies a target's answer headers that an S3 client sees.
func copyAnswerHeaders(dst, src http.Header) {
	for k, vs := range src {
		if hopHeaders[k] || strings.HasPrefix(k, "Ais-") || k == "Date" || k == "Server" {
			continue
		}
		if strings.HasPrefix(k, "X-Amz-") {
			// S3 sends x-amz-* names in lower case, and some clients keep the case of
			// what follows x-amz-meta- as the metadata's name.
			dst[strings.ToLower(k)] = vs
			continue
		}
		dst[k] = vs
	}
}

// relay answers the client with a target's answer, streaming its body.
func relay(sr *s3Req, resp *http.Response) error {
	defer resp.Body.Close()
	h := sr.w.Header()
	copyAnswerHeaders(h, resp.Header)
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		h.Set("Content-Length", cl)
	}
	sr.w.WriteHeader(resp.StatusCode)
	if sr.r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(sr.w, resp.Body); err != nil && !errors.Is(err, context.Canceled) {
		return &answered{err}
	}
	return nil
}

// s3SpliceGet is targetDo and relay for a GET, on the gateway's raw connections: the object's
// bytes go from the target's socket to the client's by splice, not through a copy buffer.
func (g *Gateway) s3SpliceGet(sr *s3Req, tc *targetCall) error {
	ctx := sr.r.Context()
	for attempt := 0; ; attempt++ {
		owner, us, err := g.targetURLFor(ctx, tc, true)
		if err != nil {
			return err
		}
		u, err := url.Parse(us)
		if err != nil {
			return fmt.Errorf("gateway: s3 GET %s/%s: %w", tc.bucket.Name, tc.key, err)
		}
		hdr := make(http.Header, len(tc.header)+2)
		for k, vs := range tc.header {
			hdr[k] = vs
		}
		hdr.Set(api.HeaderRequestID, sr.id)
		rc, resp, err := g.rawGet(ctx, owner, u, hdr)
		if err != nil {
			if ctx.Err() != nil {
				return &answered{ctx.Err()} // the client went away
			}
			return fmt.Errorf("%w: gateway: s3 GET to target: %v", meta.ErrUnavailable, err)
		}
		if resp.StatusCode >= 400 {
			werr := api.ReadError(resp)
			rc.close()
			if resp.StatusCode == http.StatusMisdirectedRequest && attempt < 3 {
				g.catchUpTo(ctx, resp.Header.Get(api.HeaderEpoch))
				continue
			}
			return werr
		}
		h := sr.w.Header()
		copyAnswerHeaders(h, resp.Header)
		if resp.ContentLength >= 0 {
			h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
		sr.w.WriteHeader(resp.StatusCode)
		if err := g.rawBody(ctx, sr.w, rc, resp); err != nil {
			// The header is out: abort the client's connection, so it sees the body end early.
			panic(http.ErrAbortHandler)
		}
		return nil
	}
}

// answered is an error after the answer began: it is logged, not answered.
type answered struct{ err error }

func (a *answered) Error() string { return a.err.Error() }
func (a *answered) Unwrap() error { return a.err }
