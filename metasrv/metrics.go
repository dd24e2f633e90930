package metasrv

import (
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisfoundry/ais/telemetry"
)

// telemetryState is the member's Prometheus registry: its HTTP API, its Raft state and the
// published epoch, served at /metrics on the HTTP port next to pprof. docs/operations.md lists
// the metrics.
type telemetryState struct {
	reg  *prometheus.Registry
	http *telemetry.HTTP
}

// Metrics returns the member's metrics registry.
func (s *Server) Metrics() *prometheus.Registry { return s.tel.reg }

// metaOps names the HTTP API's routes in metrics.
func metaOps(method, route string) string {
	switch route {
	case "/v1/health":
		return "health"
	case "/v1/cluster":
		return "cluster"
	case "/v1/buckets":
		return "list_buckets"
	case "/v1/buckets/:bucket":
		return strings.ToLower(method) + "_bucket" // put_bucket, delete_bucket
	case "/v1/buckets/:bucket/props":
		return strings.ToLower(method) + "_bucket_props"
	case "/v1/meta/join":
		return "join"
	case "/v1/meta/heartbeat":
		return "heartbeat"
	case "/v1/meta/epoch":
		return "epoch"
	case "/v1/meta/nodes/:id/state":
		return "set_node_state"
	case "/v1/meta/nodes/:id":
		return "remove_node"
	case "/v1/meta/config":
		return strings.ToLower(method) + "_config"
	case "/v1/meta/leases":
		return "grant_lease"
	case "/v1/meta/leases/:job/renew":
		return "renew_lease"
	case "/v1/meta/leases/:job":
		return "release_lease"
	case "/v1/meta/backup":
		return "backup"
	case "/metrics":
		return "metrics"
	}
	if strings.HasPrefix(route, "/debug/pprof/") {
		return "pprof"
	}
	return ""
}

// installTelemetry instruments the HTTP API and serves /metrics and pprof on it. router calls
// it.
func (s *Server) installTelemetry(e *echo.Echo) {
	if s.tel == nil {
		t := &telemetryState{reg: telemetry.NewRegistry("meta", s.cfg.ID)}
		t.http = telemetry.NewHTTP(t.reg, "meta", metaOps)
		t.reg.MustRegister(&raftCollector{s: s})
		s.tel = t
	}
	e.Use(s.tel.http.Middleware("http"))
	e.GET("/metrics", echo.WrapHandler(telemetry.Handler(s.tel.reg)))
	telemetry.RegisterPprof(e)
}

// raftCollector reads the member's Raft state and published snapshot at scrape time.
type raftCollector struct{ s *Server }

var (
	raftStateDesc   = prometheus.NewDesc("ais_meta_raft_state", "1 for the member's current Raft state.", []string{"state"}, nil)
	raftLeaderDesc  = prometheus.NewDesc("ais_meta_raft_leader", "1 if this member is the Raft leader, else 0.", nil, nil)
	raftKnownDesc   = prometheus.NewDesc("ais_meta_raft_leader_known", "1 if this member knows a leader (itself or another), else 0.", nil, nil)
	raftTermDesc    = prometheus.NewDesc("ais_meta_raft_term", "Current Raft term.", nil, nil)
	raftCommitDesc  = prometheus.NewDesc("ais_meta_raft_commit_index", "Highest log index known to be committed.", nil, nil)
	raftAppliedDesc = prometheus.NewDesc("ais_meta_raft_applied_index", "Highest log index applied to the state machine.", nil, nil)
	raftLastDesc    = prometheus.NewDesc("ais_meta_raft_last_log_index", "Highest log index in the member's log.", nil, nil)
	raftLagDesc     = prometheus.NewDesc("ais_meta_raft_apply_lag", "Committed entries not yet applied here (commit index minus applied index).", nil, nil)
	raftSnapDesc    = prometheus.NewDesc("ais_meta_raft_last_snapshot_index", "Log index of the member's latest Raft snapshot.", nil, nil)
	raftContactDesc = prometheus.NewDesc("ais_meta_raft_last_contact_seconds",
		"Seconds since a follower last heard from the leader (0 on the leader).", nil, nil)
	raftVotersDesc = prometheus.NewDesc("ais_meta_raft_voters", "Voting members in the Raft configuration.", nil, nil)
	epochDesc      = prometheus.NewDesc("ais_meta_epoch", "Epoch of the snapshot this member publishes.", nil, nil)
	nodesDesc      = prometheus.NewDesc("ais_meta_nodes", "Gateways and targets in the cluster map, by role and state.", []string{"role", "state"}, nil)
	bucketsDesc    = prometheus.NewDesc("ais_meta_buckets", "Buckets in the bucket metadata.", nil, nil)
)

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{raftStateDesc, raftLeaderDesc, raftKnownDesc, raftTermDesc, raftCommitDesc,
		raftAppliedDesc, raftLastDesc, raftLagDesc, raftSnapDesc, raftContactDesc, raftVotersDesc, epochDesc,
		nodesDesc, bucketsDesc} {
		ch <- d
	}
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.s.raft
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	state := r.State()
	for _, st := range []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown} {
		gauge(raftStateDesc, b2f(state == st), strings.ToLower(st.String()))
	}
	gauge(raftLeaderDesc, b2f(state == raft.Leader))
	addr, _ := r.LeaderWithID()
	gauge(raftKnownDesc, b2f(addr != ""))
	gauge(raftTermDesc, float64(r.CurrentTerm()))
	commit, applied := r.CommitIndex(), r.AppliedIndex()
	gauge(raftCommitDesc, float64(commit))
	gauge(raftAppliedDesc, float64(applied))
	gauge(raftLastDesc, float64(r.LastIndex()))
	lag := 0.0
	if commit > applied {
		lag = float64(commit - applied)
	}
	gauge(raftLagDesc, lag)
	var snapIndex float64
	if v, ok := r.Stats()["last_snapshot_index"]; ok {
		n, _ := strconv.ParseUint(v, 10, 64)
		snapIndex = float64(n)
	}
	gauge(raftSnapDesc, snapIndex)
	contact := 0.0
	if state != raft.Leader {
		if t := r.LastContact(); !t.IsZero() {
			contact = time.Since(t).Seconds() // raft keeps it on the wall clock
		}
	}
	gauge(raftContactDesc, contact)
	if f := r.GetConfiguration(); f.Error() == nil {
		voters := 0
		for _, srv := range f.Configuration().Servers {
			if srv.Suffrage == raft.Voter {
				voters++
			}
		}
		gauge(raftVotersDesc, float64(voters))
	}
	v := c.s.view()
	gauge(epochDesc, float64(v.Epoch))
	counts := map[[2]string]int{}
	for _, n := range v.Nodes {
		counts[[2]string{string(n.Role), string(n.State)}]++
	}
	for k, n := range counts {
		gauge(nodesDesc, float64(n), k[0], k[1])
	}
	gauge(bucketsDesc, float64(len(v.Buckets)))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
