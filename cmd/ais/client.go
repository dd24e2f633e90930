package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"github.com/aisfoundry/ais/api"
)

// newClient returns a gateway client whose transport reports to reach.
func newClient(endpoint string, reach *reachability) (*api.Client, error) {
	hc := api.NewHTTPClient()
	if tr, ok := hc.Transport.(*http.Transport); ok {
		tr.ExpectContinueTimeout = api.ExpectContinueTimeout
	}
	reach.next = hc.Transport
	hc.Transport = reach
	return api.NewClient(endpoint, hc)
}

// reachability watches a command's requests. The api client keeps retrying a node it cannot
// connect to, which rides out a restarting gateway but would make a mistyped endpoint hang for
// many seconds. So when nothing has answered yet in this command and a request fails to connect,
// the endpoint is taken as unreachable: the command's context is cancelled at once and the error
// is kept for the message.
type reachability struct {
	next   http.RoundTripper
	cancel context.CancelFunc

	mu       sync.Mutex // guards the following
	answered bool
	err      error
}

// RoundTrip implements http.RoundTripper.
func (r *reachability) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.answered = true
		return resp, nil
	}
	if !r.answered && r.err == nil && req.Context().Err() == nil && isDialError(err) {
		r.err = err
		r.cancel()
	}
	return resp, err
}

// isDialError reports whether err is a failure to connect (refused, no route, unknown host,
// dial timeout) rather than a failure during an exchange.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// unreachable returns the connection error that ended the command, if one did.
func (r *reachability) unreachable() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
