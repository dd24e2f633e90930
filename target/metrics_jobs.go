package target

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisfoundry/ais/meta"
)

// jobCollector turns the job runtime's per-job counters into per-kind Prometheus counters.
// The runtime forgets old jobs, so the collector keeps what it already counted of each job it
// has seen and adds only the growth: the totals never go down.
type jobCollector struct {
	src func() JobSource

	mu struct {
		sync.Mutex
		seen   map[string]meta.JobCounters // by job ID, for jobs the source still lists
		totals map[string]*meta.JobCounters
	}
}

var (
	jobRunningDesc = prometheus.NewDesc("ais_target_jobs_running", "Jobs running on this target, by kind.", []string{"kind"}, nil)
	jobObjectsDesc = prometheus.NewDesc("ais_target_job_objects_total",
		"Objects handled by jobs, by kind and direction (local: visited here; sent, received: moved between targets or mountpaths).",
		[]string{"kind", "direction"}, nil)
	jobBytesDesc = prometheus.NewDesc("ais_target_job_bytes_total", "Bytes handled by jobs, by kind and direction.",
		[]string{"kind", "direction"}, nil)
	jobErrorsDesc = prometheus.NewDesc("ais_target_job_errors_total", "Objects whose move by a job failed, by kind.", []string{"kind"}, nil)
)

func (j *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobRunningDesc
	ch <- jobObjectsDesc
	ch <- jobBytesDesc
	ch <- jobErrorsDesc
}

func (j *jobCollector) Collect(ch chan<- prometheus.Metric) {
	src := j.src()
	if src == nil {
		return
	}
	statuses := src.List("")
	running := map[string]int{}
	j.mu.Lock()
	if j.mu.seen == nil {
		j.mu.seen = map[string]meta.JobCounters{}
		j.mu.totals = map[string]*meta.JobCounters{}
	}
	listed := map[string]bool{}
	for _, st := range statuses {
		listed[st.ID] = true
		if !st.State.Done() {
			running[st.Kind]++
		}
		tot := j.mu.totals[st.Kind]
		if tot == nil {
			tot = &meta.JobCounters{}
			j.mu.totals[st.Kind] = tot
		}
		prev := j.mu.seen[st.ID]
		cur := st.Counters
		tot.Add(meta.JobCounters{
			LocalObjects: growth(prev.LocalObjects, cur.LocalObjects), LocalBytes: growth(prev.LocalBytes, cur.LocalBytes),
			SentObjects: growth(prev.SentObjects, cur.SentObjects), SentBytes: growth(prev.SentBytes, cur.SentBytes),
			ReceivedObjects: growth(prev.ReceivedObjects, cur.ReceivedObjects), ReceivedBytes: growth(prev.ReceivedBytes, cur.ReceivedBytes),
			Errors: growth(prev.Errors, cur.Errors),
		})
		j.mu.seen[st.ID] = cur
	}
	for id := range j.mu.seen {
		if !listed[id] {
			delete(j.mu.seen, id)
		}
	}
	for kind, tot := range j.mu.totals {
		ch <- prometheus.MustNewConstMetric(jobRunningDesc, prometheus.GaugeValue, float64(running[kind]), kind)
		for _, x := range []struct {
			dir          string
			objs, nbytes int64
		}{{"local", tot.LocalObjects, tot.LocalBytes}, {"sent", tot.SentObjects, tot.SentBytes}, {"received", tot.ReceivedObjects, tot.ReceivedBytes}} {
			ch <- prometheus.MustNewConstMetric(jobObjectsDesc, prometheus.CounterValue, float64(x.objs), kind, x.dir)
			ch <- prometheus.MustNewConstMetric(jobBytesDesc, prometheus.CounterValue, float64(x.nbytes), kind, x.dir)
		}
		ch <- prometheus.MustNewConstMetric(jobErrorsDesc, prometheus.CounterValue, float64(tot.Errors), kind)
	}
	j.mu.Unlock()
}

func growth(prev, cur int64) int64 {
	if cur > prev {
		return cur - prev
	}
	return 0
}
