package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aisfoundry/ais/api"
)

// native speaks the native object protocol itself, one visible hop at a time: the request to
// the gateway, then the one to the target its 307 names. There are no retries and no cached
// redirects (the api.Client has both), so the history knows exactly what was sent: a write
// whose target could not even be dialed certainly did not happen.
type native struct {
	hc   *http.Client // does not follow redirects
	base string
}

// hopError is a failure to get an answer from one hop.
type hopError struct {
	toTarget bool // the hop to the target (else the gateway)
	dial     bool // no connection was made: nothing was sent
	err      error
}

func (e *hopError) Error() string {
	who := "gateway"
	if e.toTarget {
		who = "target"
	}
	return fmt.Sprintf("%s hop: %v", who, e.err)
}

func (e *hopError) Unwrap() error { return e.err }

// do sends method for bucket/key (with body for PUT) and returns the final answer, whose
// body the caller closes. Answers >= 300 other than the gateway's redirect come back as
// *api.Error.
func (n *native) do(ctx context.Context, method, bucket, key string, body []byte) (*http.Response, error) {
	path := api.ObjectPath(bucket, key)
	resp, err := n.hop(ctx, method, n.base+path, body, true)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTemporaryRedirect {
		loc, lerr := resp.Location()
		drain(resp)
		if lerr != nil {
			return nil, fmt.Errorf("gateway redirect without a usable Location: %v", lerr)
		}
		if resp, err = n.hop(ctx, method, loc.String(), body, false); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode >= 300 {
		err := api.ReadError(resp)
		drain(resp)
		return nil, err
	}
	return resp, nil
}

func (n *native) hop(ctx context.Context, method, u string, body []byte, toGateway bool) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil && toGateway {
		// The gateway answers with a redirect before it reads a body: keep the body for the
		// target.
		req.Header.Set("Expect", "100-continue")
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return nil, &hopError{toTarget: !toGateway, dial: isDial(err), err: err}
	}
	return resp, nil
}

// isDial reports whether an HTTP client error happened while connecting (so no request was
// sent).
func isDial(err error) bool {
	return strings.Contains(err.Error(), ": dial tcp ") && !errors.Is(err, context.DeadlineExceeded)
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}
