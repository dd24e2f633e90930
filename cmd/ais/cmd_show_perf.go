package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aisfoundry/ais/api"
)

// ShowPerformanceCmd is "ais show performance": throughput and latency per target, from the
// targets' /metrics (their control URLs must be reachable from here).
type ShowPerformanceCmd struct {
	Interval time.Duration `short:"i" default:"2s" help:"Time between two readings; rates are over this interval."`
	Count    int           `short:"n" default:"0" help:"Number of refreshes; 0: until Ctrl-C on a terminal, 1 elsewhere."`
	jsonFlag
}

// perfRow is one target's rates over one interval.
type perfRow struct {
	Target       string  `json:"target"`
	GetPerSec    float64 `json:"get_per_sec"`
	PutPerSec    float64 `json:"put_per_sec"`
	GetBytesSec  float64 `json:"get_bytes_per_sec"`
	PutBytesSec  float64 `json:"put_bytes_per_sec"`
	ErrorsPerSec float64 `json:"errors_per_sec"`
	GetP50       float64 `json:"get_p50_seconds"` // latencies: 0 without requests in the interval
	GetP99       float64 `json:"get_p99_seconds"`
	PutP50       float64 `json:"put_p50_seconds"`
	PutP99       float64 `json:"put_p99_seconds"`
	InFlight     float64 `json:"in_flight"`
	Error        string  `json:"error,omitempty"`
}

// Run shows the rates.
func (c *ShowPerformanceCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	if c.Interval <= 0 {
		return fmt.Errorf("--interval must be positive")
	}
	count := c.Count
	if count == 0 && (!con.OutTerminal || c.JSON) {
		count = 1
	}
	ci, err := cl.Cluster(ctx)
	if err != nil {
		return err
	}
	targets := targetsOf(ci)
	if len(targets) == 0 {
		return fmt.Errorf("the cluster has no targets")
	}
	prev := scrapeTargets(ctx, targets)
	for n := 0; count == 0 || n < count; n++ {
		select {
		case <-ctx.Done():
			return nil // Ctrl-C ends a refreshing display
		case <-time.After(c.Interval):
		}
		cur := scrapeTargets(ctx, targets)
		rows := perfRows(prev, cur)
		prev = cur
		if c.JSON {
			for i := range rows { // JSON has no NaN: no requests, no latency, 0
				for _, f := range []*float64{&rows[i].GetP50, &rows[i].GetP99, &rows[i].PutP50, &rows[i].PutP99} {
					if math.IsNaN(*f) {
						*f = 0
					}
				}
			}
			if err := writeJSON(con.Out, rows); err != nil {
				return err
			}
			continue
		}
		if con.OutTerminal && (count == 0 || count > 1) {
			fmt.Fprint(con.Out, "\x1b[H\x1b[2J") // home, clear: redraw in place
		}
		fmt.Fprintf(con.Out, "%s  rates over %s\n", time.Now().Format("15:04:05"), c.Interval)
		if err := writePerf(con, rows); err != nil {
			return err
		}
	}
	return nil
}

func perfRows(prev, cur []scrape) []perfRow {
	var rows []perfRow
	total := perfRow{Target: "TOTAL", GetP50: math.NaN(), GetP99: math.NaN(), PutP50: math.NaN(), PutP99: math.NaN()}
	var getAll, putAll histogram
	for i := range cur {
		r := perfRow{Target: cur[i].id}
		if cur[i].err != nil || prev[i].err != nil {
			r.Error = "unreachable"
			if cur[i].err != nil {
				r.Error = cur[i].err.Error()
			}
			rows = append(rows, r)
			continue
		}
		a, b := prev[i].fams, cur[i].fams
		dt := cur[i].at.Sub(prev[i].at).Seconds()
		rate := func(name string, l map[string]string) float64 {
			return max(0, sum(b, name, l)-sum(a, name, l)) / dt
		}
		r.GetPerSec = rate("ais_target_requests_total", map[string]string{"listener": "public", "op": "get"})
		r.PutPerSec = rate("ais_target_requests_total", map[string]string{"listener": "public", "op": "put"})
		r.GetBytesSec = rate("ais_target_get_bytes_total", nil)
		r.PutBytesSec = rate("ais_target_put_bytes_total", nil)
		r.ErrorsPerSec = rate("ais_target_request_errors_total", map[string]string{"listener": "public"})
		r.InFlight = sum(b, "ais_target_requests_in_flight", map[string]string{"listener": "public"})
		gh := histogramOf(b, "ais_target_request_duration_seconds", map[string]string{"listener": "public", "op": "get"}).
			minus(histogramOf(a, "ais_target_request_duration_seconds", map[string]string{"listener": "public", "op": "get"}))
		ph := histogramOf(b, "ais_target_request_duration_seconds", map[string]string{"listener": "public", "op": "put"}).
			minus(histogramOf(a, "ais_target_request_duration_seconds", map[string]string{"listener": "public", "op": "put"}))
		r.GetP50, r.GetP99 = gh.quantile(0.5), gh.quantile(0.99)
		r.PutP50, r.PutP99 = ph.quantile(0.5), ph.quantile(0.99)
		getAll, putAll = merge(getAll, gh), merge(putAll, ph)
		total.GetPerSec += r.GetPerSec
		total.PutPerSec += r.PutPerSec
		total.GetBytesSec += r.GetBytesSec
		total.PutBytesSec += r.PutBytesSec
		total.ErrorsPerSec += r.ErrorsPerSec
		total.InFlight += r.InFlight
		rows = append(rows, r)
	}
	total.GetP50, total.GetP99 = getAll.quantile(0.5), getAll.quantile(0.99)
	total.PutP50, total.PutP99 = putAll.quantile(0.5), putAll.quantile(0.99)
	return append(rows, total)
}

// merge adds two histograms with the same buckets.
func merge(a, b histogram) histogram {
	if len(a.bounds) == 0 {
		return b
	}
	out := histogram{count: a.count + b.count, sum: a.sum + b.sum, bounds: a.bounds, counts: append([]float64(nil), a.counts...)}
	for i := range out.counts {
		if i < len(b.counts) && b.bounds[i] == a.bounds[i] {
			out.counts[i] += b.counts[i]
		}
	}
	return out
}

func writePerf(con *console, rows []perfRow) error {
	t := newTable("TARGET", ">GET/s", ">GET", ">GET p50", ">GET p99", ">PUT/s", ">PUT", ">PUT p50", ">PUT p99", ">ERR/s", ">ACTIVE")
	for _, r := range rows {
		if r.Error != "" {
			t.add(r.Target, "-", "-", "-", "-", "-", "-", "-", "-", "-", r.Error)
			continue
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
		t.add(r.Target, f(r.GetPerSec), humanRate(r.GetBytesSec), humanLatency(r.GetP50), humanLatency(r.GetP99),
			f(r.PutPerSec), humanRate(r.PutBytesSec), humanLatency(r.PutP50), humanLatency(r.PutP99),
			f(r.ErrorsPerSec), strconv.FormatFloat(r.InFlight, 'f', 0, 64))
	}
	return t.write(con.Out)
}
