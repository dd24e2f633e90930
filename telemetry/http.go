package telemetry

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// HeaderErrorCode is the response header that carries a failed request's error code
// (api.HeaderErrorCode; repeated here so this package imports none of ours).
const HeaderErrorCode = "Ais-Error-Code"

// LatencyBuckets are the bounds of request latency histograms: 250 µs to about 33 s.
var LatencyBuckets = prometheus.ExponentialBuckets(0.00025, 2, 18)

// Request is what HTTP tells OnDone about one finished request.
type Request struct {
	Listener string
	Op       string
	Status   int
	Code     string // error code of a failed request, "" for a success
	In, Out  int64  // body bytes read and written
	Took     time.Duration
}

// HTTP instruments the HTTP listeners of one daemon:
//
//	ais_<daemon>_requests_total{listener,op,status}
//	ais_<daemon>_request_errors_total{listener,op,code}      (status >= 400, by error code)
//	ais_<daemon>_request_duration_seconds{listener,op}       (histogram)
//	ais_<daemon>_requests_in_flight{listener}
//	ais_<daemon>_request_body_bytes_total{listener,op}       (bytes received)
//	ais_<daemon>_response_body_bytes_total{listener,op}      (bytes sent)
//
// op names the route ("get", "put", "list", ...) through the daemon's OpOf; routes it does not
// name are "<method> <route pattern>", and requests that matched no route are "unmatched", so
// the number of label values stays bounded.
type HTTP struct {
	opOf     func(method, route string) string
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec

	mu struct {
		sync.Mutex
		listeners map[string]*listenerState
	}
	// OnDone, if set before the first request, is called after every request.
	OnDone func(Request)
}

// listenerState is what a draining daemon asks about one listener.
type listenerState struct {
	active atomic.Int64 // requests in flight
	last   atomic.Int64 // Unix nanoseconds of the latest request's arrival
}

func (h *HTTP) listener(name string) *listenerState {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.listeners == nil {
		h.mu.listeners = map[string]*listenerState{}
	}
	l := h.mu.listeners[name]
	if l == nil {
		l = &listenerState{}
		h.mu.listeners[name] = l
	}
	return l
}

// NewHTTP registers the HTTP instruments of daemon ("target", "gw", "meta") with reg. opOf
// names a route (method and echo route pattern); "" lets the default name stand.
func NewHTTP(reg prometheus.Registerer, daemon string, opOf func(method, route string) string) *HTTP {
	ns := "ais_" + daemon + "_"
	h := &HTTP{
		opOf: opOf,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "requests_total",
			Help: "HTTP requests answered, by listener, operation and status code."}, []string{"listener", "op", "status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "request_errors_total",
			Help: "HTTP requests answered with status 400 or above, by error code (Ais-Error-Code; the status when there is none)."},
			[]string{"listener", "op", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: ns + "request_duration_seconds",
			Help: "Time from the request's arrival to the end of its answer.", Buckets: LatencyBuckets},
			[]string{"listener", "op"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ns + "requests_in_flight",
			Help: "HTTP requests being served."}, []string{"listener"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "request_body_bytes_total",
			Help: "Bytes of request bodies read."}, []string{"listener", "op"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "response_body_bytes_total",
			Help: "Bytes of response bodies written."}, []string{"listener", "op"}),
	}
	reg.MustRegister(h.requests, h.errors, h.latency, h.inFlight, h.bytesIn, h.bytesOut)
	return h
}

// Op names the operation of a request: OpOf's name, or "<method> <route>", or "unmatched".
func (h *HTTP) Op(method, route string) string {
	if h.opOf != nil {
		if op := h.opOf(method, route); op != "" {
			return op
		}
	}
	if route == "" || route == "/*" {
		return "unmatched"
	}
	return strings.ToLower(method) + " " + route
}

// InFlight is the number of requests being served on a listener.
func (h *HTTP) InFlight(listener string) int64 { return h.listener(listener).active.Load() }

// LastRequest is when the latest request arrived on a listener (zero before any).
func (h *HTTP) LastRequest(listener string) time.Time {
	if n := h.listener(listener).last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Middleware instruments every request of one listener. It hands a handler's error to echo's
// error handler itself (as echo's logger does) so that the answer's status and error code are
// known when it counts.
func (h *HTTP) Middleware(listener string) echo.MiddlewareFunc {
	inFlight := h.inFlight.WithLabelValues(listener)
	ls := h.listener(listener)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			ls.last.Store(start.UnixNano())
			ls.active.Add(1)
			inFlight.Inc()
			defer func() {
				inFlight.Dec()
				ls.active.Add(-1)
			}()
			r := c.Request()
			body := &countingBody{rc: r.Body}
			w := &countingWriter{ResponseWriter: c.Response().Writer}
			if orig := r.Body; orig != nil && orig != http.NoBody {
				// The server decides whether the connection can be reused by looking at the
				// type of the request's body (an unread "Expect: 100-continue" body closes it),
				// so the original goes back before the answer's header does; a handler that
				// holds the counting body goes on counting.
				r.Body = body
				w.beforeHeader = func() {
					if r.Body == body {
						r.Body = orig
					}
				}
			}
			c.Response().Writer = w
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			w.header()
			status := w.status
			if status == 0 {
				status = c.Response().Status
				if !c.Response().Committed {
					status = http.StatusOK
				}
			}
			op := h.Op(r.Method, c.Path())
			code := ""
			if status >= 400 {
				if code = w.Header().Get(HeaderErrorCode); code == "" {
					code = strconv.Itoa(status)
				}
				h.errors.WithLabelValues(listener, op, code).Inc()
			}
			took := time.Since(start)
			h.requests.WithLabelValues(listener, op, strconv.Itoa(status)).Inc()
			h.latency.WithLabelValues(listener, op).Observe(took.Seconds())
			in, out := body.n.Load(), w.n
			if in > 0 {
				h.bytesIn.WithLabelValues(listener, op).Add(float64(in))
			}
			if out > 0 {
				h.bytesOut.WithLabelValues(listener, op).Add(float64(out))
			}
			if h.OnDone != nil {
				h.OnDone(Request{Listener: listener, Op: op, Status: status, Code: code, In: in, Out: out, Took: took})
			}
			return nil
		}
	}
}

// countingBody counts the bytes read from a request body. The reverse proxy may read it from
// another goroutine, hence the atomic.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// countingWriter records the final status and counts body bytes. It passes ReadFrom through,
// so the server still sends files with sendfile, and Unwrap, so http.ResponseController finds
// the flusher and hijacker below it.
type countingWriter struct {
	http.ResponseWriter
	status       int
	n            int64
	beforeHeader func() // run once, before the first byte of the answer goes out
}

// header runs beforeHeader once.
func (w *countingWriter) header() {
	if f := w.beforeHeader; f != nil {
		w.beforeHeader = nil
		f()
	}
}

func (w *countingWriter) WriteHeader(code int) {
	w.header()
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.header()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	w.header()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.n += n
	return n, err
}

func (w *countingWriter) Flush() {
	w.header()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.header()
	if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, errors.New("telemetry: the response writer cannot be hijacked")
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
