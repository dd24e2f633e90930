package telemetry

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func newTestServer(t *testing.T) (*httptest.Server, *prometheus.Registry, *HTTP) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := NewHTTP(reg, "test", func(method, route string) string {
		if route == "/obj/:name" {
			return strings.ToLower(method)
		}
		return ""
	})
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		c.Response().Header().Set(HeaderErrorCode, "ObjectNotFound")
		_ = c.String(http.StatusNotFound, err.Error())
	}
	e.Use(h.Middleware("public"))
	e.PUT("/obj/:name", func(c echo.Context) error {
		n, err := io.Copy(io.Discard, c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, strings.Repeat("k", int(n%7)))
	})
	e.GET("/obj/:name", func(c echo.Context) error {
		if c.Param("name") == "missing" {
			return echo.ErrNotFound
		}
		// Through io.Copy, as the target sends files: the writer's ReadFrom is used.
		c.Response().WriteHeader(http.StatusOK)
		_, err := io.Copy(c.Response().Writer, io.LimitReader(strings.NewReader(strings.Repeat("x", 1000)), 1000))
		return err
	})
	e.PUT("/redirect", func(c echo.Context) error { return c.Redirect(http.StatusTemporaryRedirect, "/elsewhere") })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, reg, h
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var v float64
next:
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		}
	}
	return v
}

func TestHTTPMetricsCount(t *testing.T) {
	srv, reg, h := newTestServer(t)
	var done []Request
	h.OnDone = func(r Request) { done = append(done, r) }
	for range 3 {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/obj/a", strings.NewReader("0123456789"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, name := range []string{"a", "missing"} {
		resp, err := http.Get(srv.URL + "/obj/" + name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/no/route")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fams := gather(t, reg)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ais_test_requests_total", map[string]string{"op": "put", "status": "200"}, 3},
		{"ais_test_requests_total", map[string]string{"op": "get", "status": "200"}, 1},
		{"ais_test_requests_total", map[string]string{"op": "get", "status": "404"}, 1},
		{"ais_test_requests_total", map[string]string{"op": "unmatched", "status": "404"}, 1},
		{"ais_test_request_errors_total", map[string]string{"op": "get", "code": "ObjectNotFound"}, 1},
		{"ais_test_request_body_bytes_total", map[string]string{"op": "put"}, 30},
		{"ais_test_response_body_bytes_total", map[string]string{"op": "put"}, 9},
		{"ais_test_response_body_bytes_total", map[string]string{"op": "get"}, 1000 + float64(len(echo.ErrNotFound.Error()))},
		{"ais_test_request_duration_seconds", map[string]string{"op": "put"}, 3},
		{"ais_test_requests_in_flight", nil, 0},
	} {
		if got := value(fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if len(done) != 6 || done[0].In != 10 || done[3].Out != 1000 || done[4].Code != "ObjectNotFound" {
		t.Errorf("OnDone saw %+v", done)
	}
	if h.InFlight("public") != 0 || h.LastRequest("public").IsZero() || !h.LastRequest("other").IsZero() {
		t.Errorf("in flight %d, last %v", h.InFlight("public"), h.LastRequest("public"))
	}
}

// TestExpectContinueNotRead checks that an answer given without reading an "Expect:
// 100-continue" body goes out at once and closes the connection, as it does without the
// middleware: the counting body must not make the server wait for (and swallow) the body.
func TestExpectContinueNotRead(t *testing.T) {
	srv, _, _ := newTestServer(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "PUT /redirect HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer without the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || !resp.Close {
		t.Fatalf("answer %s, close %v; want 307 and Connection: close", resp.Status, resp.Close)
	}
}
