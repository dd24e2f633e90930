package workload

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/tests/chaos/history"
)

// epochTap is an http.RoundTripper that notes the Ais-Epoch of every answer (from gateways
// and from targets), with the epoch a gateway signed into a target URL. One client owns one
// tap and runs one operation at a time; take returns what the operation saw.
type epochTap struct {
	base http.RoundTripper
	now  func() int64

	mu   sync.Mutex // guards seen
	seen []history.EpochSeen
}

func (t *epochTap) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	e, perr := strconv.ParseUint(resp.Header.Get(api.HeaderEpoch), 10, 64)
	if perr != nil {
		return resp, nil
	}
	signed, _ := strconv.ParseUint(req.URL.Query().Get(api.QueryEpoch), 10, 64)
	t.mu.Lock()
	t.seen = append(t.seen, history.EpochSeen{Node: req.URL.Host, Epoch: e, Signed: signed,
		Status: resp.StatusCode, Time: t.now()})
	t.mu.Unlock()
	return resp, nil
}

// take returns and forgets what was seen since the last take.
func (t *epochTap) take() []history.EpochSeen {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.seen
	t.seen = nil
	return s
}

// newHTTPClient returns an HTTP client for one chaos client: the api package's tuning, the
// epoch tap, the "100 Continue" wait, and no redirect following (each hop is the caller's).
func newHTTPClient(now func() int64) (*http.Client, *epochTap) {
	tr := api.NewHTTPClient().Transport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = api.ExpectContinueTimeout
	tap := &epochTap{base: tr, now: now}
	return &http.Client{Transport: tap,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, tap
}
