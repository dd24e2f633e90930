package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// scrape is one reading of a target's /metrics (on its control URL, which the operator's
// machine must reach).
type scrape struct {
	id   string
	at   time.Time
	fams map[string]*dto.MetricFamily
	err  error
}

// scrapeTargets reads /metrics of every target in the cluster map, concurrently; a target that
// does not answer has err set.
func scrapeTargets(ctx context.Context, targets []meta.Node) []scrape {
	out := make([]scrape, len(targets))
	var wg sync.WaitGroup
	hc := api.NewHTTPClient()
	for i, n := range targets {
		wg.Go(func() {
			out[i] = scrape{id: n.ID, at: time.Now()}
			out[i].fams, out[i].err = scrapeOne(ctx, hc, n.ControlURL)
		})
	}
	wg.Wait()
	return out
}

func scrapeOne(ctx context.Context, hc *http.Client, base string) (map[string]*dto.MetricFamily, error) {
	if base == "" {
		return nil, fmt.Errorf("no control URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: %s", base, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// targetsOf returns the cluster's targets sorted by ID.
func targetsOf(ci *api.ClusterInfo) []meta.Node {
	var ts []meta.Node
	for _, n := range ci.Nodes {
		if n.Role == meta.RoleTarget {
			ts = append(ts, n)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	return ts
}

// series returns the metrics of a family whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			if labelOf(m, k) != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sum adds up counters and gauges of matching series.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var s float64
	for _, m := range series(fams, name, want) {
		switch {
		case m.Counter != nil:
			s += m.GetCounter().GetValue()
		case m.Gauge != nil:
			s += m.GetGauge().GetValue()
		}
	}
	return s
}

// histogram is the merged histogram of matching series: cumulative counts by upper bound.
type histogram struct {
	count  float64
	sum    float64
	bounds []float64
	counts []float64
}

func histogramOf(fams map[string]*dto.MetricFamily, name string, want map[string]string) histogram {
	var h histogram
	idx := map[float64]int{}
	for _, m := range series(fams, name, want) {
		mh := m.GetHistogram()
		if mh == nil {
			continue
		}
		h.count += float64(mh.GetSampleCount())
		h.sum += mh.GetSampleSum()
		for _, b := range mh.GetBucket() {
			i, ok := idx[b.GetUpperBound()]
			if !ok {
				i = len(h.bounds)
				idx[b.GetUpperBound()] = i
				h.bounds = append(h.bounds, b.GetUpperBound())
				h.counts = append(h.counts, 0)
			}
			h.counts[i] += float64(b.GetCumulativeCount())
		}
	}
	return h
}

// minus is the histogram of the observations between two readings.
func (h histogram) minus(old histogram) histogram {
	d := histogram{count: h.count - old.count, sum: h.sum - old.sum, bounds: h.bounds, counts: make([]float64, len(h.counts))}
	for i := range h.counts {
		d.counts[i] = h.counts[i]
		if i < len(old.counts) && old.bounds[i] == h.bounds[i] {
			d.counts[i] -= old.counts[i]
		}
	}
	return d
}

// quantile estimates the q-quantile (0-1) by linear interpolation within its bucket, as
// Prometheus's histogram_quantile does; NaN without observations.
func (h histogram) quantile(q float64) float64 {
	if h.count <= 0 || len(h.bounds) == 0 {
		return math.NaN()
	}
	order := make([]int, len(h.bounds))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return h.bounds[order[a]] < h.bounds[order[b]] })
	rank := q * h.count
	prevBound, prevCount := 0.0, 0.0
	for _, i := range order {
		if h.counts[i] >= rank {
			if math.IsInf(h.bounds[i], 1) {
				return prevBound
			}
			if h.counts[i] == prevCount {
				return h.bounds[i]
			}
			return prevBound + (h.bounds[i]-prevBound)*(rank-prevCount)/(h.counts[i]-prevCount)
		}
		prevBound, prevCount = h.bounds[i], h.counts[i]
	}
	return prevBound
}

// humanLatency formats seconds as 850µs, 12.3ms or 1.20s.
func humanLatency(s float64) string {
	switch {
	case math.IsNaN(s) || s < 0:
		return "-"
	case s < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1fms", s*1e3)
	default:
		return fmt.Sprintf("%.2fs", s)
	}
}
