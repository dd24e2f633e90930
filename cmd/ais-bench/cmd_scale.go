package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// ScalePoint is one point of the scale-out curve: a cluster of Targets targets whose mountpaths
// are capped at CapMiBps each.
type ScalePoint struct {
	Targets  int     `json:"targets"`
	CapMiBps int     `json:"cap_mib_per_sec"`
	Size     int64   `json:"size"`
	Workers  int     `json:"workers"`
	Objects  int64   `json:"objects"`
	Put      Result  `json:"put"`
	Get      Result  `json:"get"`
	Seconds  float64 `json:"seconds"`
	Load     string  `json:"load_before,omitempty"` // load averages when it started
}

// ScaleCmd measures one point of the scale-out curve against a running cluster.
type ScaleCmd struct {
	Endpoint string        `short:"e" env:"AIS_ENDPOINT" default:"http://127.0.0.1:8080" placeholder:"URL" help:"Gateway of the cluster."`
	CapMiBps int           `name:"cap" placeholder:"MIBPS" help:"The per-mountpath cap the targets run with (ais-target --test-mountpath-mibps), for the report."`
	Size     byteSize      `default:"256KiB" help:"Object size. Small enough that the run writes (and then reads) a few thousand objects: over a few hundred, placement leaves the busiest target a few percent more of them than its share, and a closed loop of workers waits on it (docs/performance.md)."`
	Workers  int           `default:"16" help:"Concurrent requests per active target (16 for 1 target, 64 for 4): enough for every target to have work queued at all times."`
	Duration time.Duration `default:"5s" help:"Length of the PUT run and of the GET run."`
	MaxBytes byteSize      `name:"max-bytes" default:"1GiB" help:"GETs read at most this many bytes' worth of distinct objects."`
	Out      string        `required:"" placeholder:"FILE" help:"Where to write the point (JSON)."`
}

func (c *ScaleCmd) Run(ctx context.Context) error {
	start := time.Now()
	bucket := fmt.Sprintf("bench-scale-%d", start.Unix())
	be, err := newNativeBackend(c.Endpoint, bucket, false, benchHTTPClient(c.Workers))
	if err != nil {
		return err
	}
	ci, err := be.c.Cluster(ctx)
	if err != nil {
		return err
	}
	pt := &ScalePoint{CapMiBps: c.CapMiBps, Size: int64(c.Size), Workers: c.Workers, Load: loadAverage()}
	for _, n := range ci.Nodes {
		if n.Role == meta.RoleTarget && n.State == meta.NodeActive {
			pt.Targets++
		}
	}
	// Workers grow with the targets. A closed loop of N workers spread at random over K
	// targets leaves a given target idle a share (K-1)/(N+K-1) of the time (16 workers on 4
	// targets: 16%), which would count as lost scaling although no target was short of
	// capacity; with 16 per target it stays under 5%.
	workers := c.Workers * max(pt.Targets, 1)
	pt.Workers = workers
	be, err = newNativeBackend(c.Endpoint, bucket, false, benchHTTPClient(workers))
	if err != nil {
		return err
	}
	// The cap stands for the disk: no fsync, which would measure the machine's one real disk.
	if err := ensureBucket(ctx, be.c, bucket, []byte(`{"write":{"fsync":false}}`)); err != nil {
		return err
	}
	pat := newPattern()
	spec := loadSpec{Op: opPut, Workers: workers, Duration: c.Duration, Prefix: "scale/",
		MinSize: int64(c.Size), MaxSize: int64(c.Size)}
	sum, err := runLoad(ctx, spec, be, pat, nil)
	if err != nil {
		return err
	}
	pt.Put = sum.result(opPut)
	fmt.Fprintf(os.Stderr, "%d targets %s\n", pt.Targets, pt.Put.line())
	syscall.Sync()
	pt.Objects = min(sum.NamesUsed, max(1, int64(c.MaxBytes)/int64(c.Size)))
	if pt.Objects == 0 {
		return fmt.Errorf("no objects written")
	}
	spec.Op, spec.NumObjects = opGet, int(pt.Objects)
	if sum, err = runLoad(ctx, spec, be, pat, nil); err != nil {
		return err
	}
	pt.Get = sum.result(opGet)
	fmt.Fprintf(os.Stderr, "%d targets %s\n", pt.Targets, pt.Get.line())
	pt.Seconds = time.Since(start).Seconds()
	return writeJSON(c.Out, pt)
}
