package chaos

import (
	"time"

	"github.com/aisfoundry/ais/tests/chaos/nemesis"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
	"github.com/aisfoundry/ais/tests/chaos/workload"
)

// Tiers of scenarios: CI runs in `make chaos-ci` (and `make test`), Full adds the rest in
// `make chaos`.
const (
	TierCI   = "ci"
	TierFull = "full"
)

// Workload kinds.
const (
	Register   = "register"   // a few shared keys, overlapping reads and writes: linearizability
	Durability = "durability" // mostly new keys: every acknowledged write must survive
)

// Scenario is one chaos run: a cluster, a workload, and a fault schedule.
type Scenario struct {
	Name    string
	Tier    string
	Cluster testbed.Spec
	// BucketProps is the workload bucket's properties (a JSON merge document).
	BucketProps string
	Workload    string
	Clients     int
	Options     workload.Options
	Schedule    nemesis.Schedule
	// Duration bounds the fault phase; with Schedule.Count the phase ends when the count is
	// reached (or Duration passes, whichever is first).
	Duration time.Duration
	// Tail is how long the workload runs after the last heal.
	Tail time.Duration
	// Note says what the scenario shows, for the results table.
	Note string
	// Expect names a checker that must FAIL: a negative control, where the product is run in
	// a mode known to be unsafe (reads without validation over damaged objects), proving the
	// checker catches it end to end.
	Expect string
}

func cluster() testbed.Spec { return testbed.Spec{Meta: 3, Targets: 3, Gateways: 2, Mountpaths: 2} }

// leaseCluster has short leases (renewed every second) and a slow rebalance, so that a
// rebalance is still running when a nemesis looks for a lease holder, and a pause of a few
// seconds outlives its lease while staying under the node timeout (10 s).
func leaseCluster() testbed.Spec {
	c := cluster()
	c.ClusterConfig = `{"lease_ttl":"3s","rebalance":{"bandwidth":2097152}}`
	return c
}

// protectedOptions is the durability workload of the corruption runs, read-heavy so that
// damaged objects are read, with multipart uploads (EC slices objects of 256 KiB and more).
func protectedOptions() workload.Options {
	return workload.Options{Prefix: "dur/", Mix: workload.Mix{Get: 60, Put: 35, Delete: 2, List: 3},
		Multipart: 10, Pause: 20 * time.Millisecond}
}

func registerOptions() workload.Options {
	return workload.Options{Prefix: "reg/", Keys: 5, WritesPerKey: 30, UnknownPerKey: 10,
		Mix: workload.Mix{Get: 45, Put: 27, CAS: 13, Delete: 8, List: 7}, Pause: 30 * time.Millisecond}
}

func durabilityOptions() workload.Options {
	return workload.Options{Prefix: "dur/", Mix: workload.Mix{Get: 25, Put: 62, Delete: 8, List: 5},
		Multipart: 10, Pause: 20 * time.Millisecond}
}

func schedule(count int, quiet, hold [2]time.Duration, faults ...nemesis.Fault) nemesis.Schedule {
	return nemesis.Schedule{Faults: faults, Count: count, Quiet: quiet, Hold: hold, RecoveryBound: 60 * time.Second}
}

func s(a, b float64) [2]time.Duration {
	return [2]time.Duration{time.Duration(a * float64(time.Second)), time.Duration(b * float64(time.Second))}
}

// Scenarios is every scenario, CI tier first.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "register-meta-leader-partition", Tier: TierCI, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 90 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(3, 6), nemesis.PartitionMetaLeader{}),
			Note:     "meta leader cut off from the other members, 4 times"},
		{Name: "register-target-kill", Tier: TierCI, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 90 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(0.5, 3), nemesis.Kill{Of: nemesis.RandomTarget}),
			Note:     "SIGKILL of a target, restarted within 3 s, 4 times"},
		{Name: "durability-10-target-kills", Tier: TierCI, Cluster: cluster(), Workload: Durability, Clients: 6,
			Options: durabilityOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(10, s(1.5, 3), s(0.5, 2.5), nemesis.Kill{Of: nemesis.RandomTarget}),
			Note:     "SIGKILL of a target, restarted within 2.5 s, 10 times"},
		{Name: "corruption", Tier: TierCI, Cluster: cluster(), Workload: Durability, Clients: 4,
			BucketProps: `{"checksum":{"validate_read":true}}`,
			Options: workload.Options{Prefix: "dur/", Mix: workload.Mix{Get: 60, Put: 35, Delete: 2, List: 3},
				Pause: 20 * time.Millisecond},
			Duration: 60 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(12, s(1, 2), s(0, 0), nemesis.Corrupt{}),
			Note:     "12 objects flipped or truncated on disk; reads validate"},

		{Name: "register-isolate-gateway", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(4, 14), nemesis.IsolateGateway{}),
			Note:     "a gateway cut off from all meta members for 4-14 s"},
		{Name: "register-asymmetric-target-split", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(3, 8), nemesis.IsolateTargetFromMeta{}),
			Note:     "a target cut off from meta but not from gateways, shorter than the node timeout"},
		{Name: "register-asymmetric-target-split-long", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 150 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(3, s(2, 4), s(13, 16), nemesis.IsolateTargetFromMeta{}),
			Note:     "the same split past the node timeout (10 s): meta marks the target down while gateways can still reach it"},
		{Name: "register-flapping-partitions", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(3, s(2, 4), s(6, 9), nemesis.Flap{}),
			Note:     "all nodes split into random halves every 1.5 s for 6-9 s"},
		{Name: "register-packet-loss", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(4, 8), nemesis.Loss{}),
			Note:     "10-40% packet loss (nftables numgen) on one or two nodes"},
		{Name: "register-kill-gateway-and-meta-leader", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(6, s(2, 4), s(0.5, 3), nemesis.Kill{Of: nemesis.RandomGateway}, nemesis.Kill{Of: nemesis.MetaLeader}),
			Note:     "SIGKILL of a gateway or of the meta leader, restarted within 3 s"},
		{Name: "register-pause-meta-leader", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(2, 6), nemesis.Pause{Of: nemesis.MetaLeader}),
			Note:     "SIGSTOP of the meta leader for 2-6 s (past the election timeout), then SIGCONT"},
		{Name: "register-pause-target", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(2, 6), nemesis.Pause{Of: nemesis.RandomTarget}),
			Note:     "SIGSTOP of a target for 2-6 s, then SIGCONT"},
		{Name: "register-pause-target-long", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 150 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(3, s(2, 4), s(13, 16), nemesis.Pause{Of: nemesis.RandomTarget, Label: "pause-target-long"}),
			Note:     "SIGSTOP of a target past the node timeout (and any lease TTL under 13 s), then SIGCONT"},
		{Name: "durability-target-down-long", Tier: TierFull, Cluster: cluster(), Workload: Durability, Clients: 6,
			Options: durabilityOptions(), Duration: 150 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(3, s(2, 4), s(13, 16), nemesis.Kill{Of: nemesis.RandomTarget, Label: "kill-target-long"}),
			Note:     "SIGKILL of a target kept down past the node timeout (meta marks it down), then restarted"},
		{Name: "durability-disk-full", Tier: TierFull, Cluster: func() testbed.Spec { c := cluster(); c.TmpfsMiB = 48; return c }(),
			Workload: Durability, Clients: 6, Options: durabilityOptions(), Duration: 120 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(4, s(2, 4), s(3, 6), nemesis.FillDisk{}),
			Note:     "a target's first mountpath (48 MiB tmpfs) filled up for 3-6 s"},
		{Name: "durability-pause-lease-holder", Tier: TierFull, Cluster: leaseCluster(), Workload: Durability, Clients: 6,
			Options: durabilityOptions(), Duration: 180 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(3, s(4, 6), s(5, 8), nemesis.PauseLeaseHolder{}),
			Note:     "a target in maintenance starts a rebalance (slowed to 2 MiB/s); a target running its part, holding its lease, is SIGSTOPped for 5-8 s past the 3 s lease_ttl; the job must end after SIGCONT"},
		{Name: "mirror-corruption-and-kills", Tier: TierFull, Cluster: cluster(), Workload: Durability, Clients: 4,
			BucketProps: `{"checksum":{"validate_read":true},"mirror":{"copies":2}}`,
			Options:     protectedOptions(), Duration: 90 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(14, s(1, 2), s(0.5, 2.5), nemesis.Corrupt{Redundant: true}, nemesis.Kill{Of: nemesis.RandomTarget}),
			Note:     "mirror.copies=2 on 2 mountpaths: primary copies flipped or truncated, and targets killed; reads get the bytes restored from the other copy"},
		{Name: "ec-corruption-and-kills", Tier: TierFull, Workload: Durability, Clients: 4,
			Cluster:     testbed.Spec{Meta: 3, Targets: 4, Gateways: 2, Mountpaths: 2},
			BucketProps: `{"checksum":{"validate_read":true},"ec":{"enabled":true,"data":2,"parity":1}}`,
			Options:     protectedOptions(), Duration: 90 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(14, s(1, 2), s(0.5, 2.5), nemesis.Corrupt{Redundant: true}, nemesis.Kill{Of: nemesis.RandomTarget}),
			Note:     "EC 2+1 on 4 targets: owners' copies flipped or truncated, and targets killed; reads get the bytes restored from replicas or slices"},
		{Name: "corruption-unvalidated-control", Tier: TierFull, Cluster: cluster(), Workload: Durability, Clients: 4,
			Options: workload.Options{Prefix: "dur/", Mix: workload.Mix{Get: 60, Put: 35, Delete: 2, List: 3},
				Pause: 20 * time.Millisecond},
			Duration: 60 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(6, s(1, 2), s(0, 0), nemesis.Corrupt{}), Expect: "integrity",
			Note: "negative control: damaged objects read WITHOUT validation; the integrity checker must catch the wrong bytes"},
		{Name: "mixed", Tier: TierFull, Cluster: cluster(), Workload: Register, Clients: 6,
			Options: registerOptions(), Duration: 180 * time.Second, Tail: 2 * time.Second,
			Schedule: schedule(12, s(1, 3), s(2, 6), nemesis.PartitionMetaLeader{}, nemesis.IsolateGateway{},
				nemesis.IsolateTargetFromMeta{}, nemesis.Flap{}, nemesis.Loss{}, nemesis.Kill{Of: nemesis.RandomTarget},
				nemesis.Kill{Of: nemesis.RandomGateway}, nemesis.Kill{Of: nemesis.MetaLeader},
				nemesis.Pause{Of: nemesis.MetaLeader}, nemesis.Pause{Of: nemesis.RandomTarget}),
			Note: "every short fault, drawn at random"},
	}
}
