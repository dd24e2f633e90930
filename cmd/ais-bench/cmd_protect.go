package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ProtectResult is the cost of data protection measured on one cluster: PUT throughput of
// mirrored and erasure-coded buckets next to a plain one, and GET of the EC buckets with a
// target killed next to GET with all up.
type ProtectResult struct {
	Cluster  string        `json:"cluster"`
	Workers  int           `json:"workers"`
	Duration string        `json:"duration"`
	Cells    []ProtectCell `json:"cells"`
	Load     string        `json:"load_before,omitempty"`
	Cap      int64         `json:"mountpath_cap_mibps,omitempty"` // the cluster's disks were capped at this
	PutsOnly bool          `json:"puts_only,omitempty"`
}

// ProtectCell is one bucket layout at one object size.
type ProtectCell struct {
	Bucket  string  `json:"bucket"`
	Layout  string  `json:"layout"`
	Size    int64   `json:"size"`
	Amp     float64 `json:"write_amplification"` // bytes written per logical byte
	Put     Result  `json:"put"`
	Get     Result  `json:"get"`
	GetDown *Result `json:"get_target_down,omitempty"`
}

// protectLayouts are the buckets measured: name, properties, description, bytes written per
// logical byte (objects above ec.objsize_limit), and whether reads survive a lost target.
var protectLayouts = []struct {
	name, props, layout string
	amp                 float64
	survivesNode        bool
}{
	{"prot-plain", `{"write":{"fsync":false}}`, "plain", 1, false},
	{"prot-mirror2", `{"write":{"fsync":false},"mirror":{"copies":2,"sync":true}}`, "2 mirror copies (sync)", 2, false},
	{"prot-ec21", `{"write":{"fsync":false},"ec":{"enabled":true,"data":2,"parity":1,"full_copy":true}}`, "EC 2+1, full copy", 2.5, true},
	{"prot-ec21-nocopy", `{"write":{"fsync":false},"ec":{"enabled":true,"data":2,"parity":1,"full_copy":false}}`, "EC 2+1, slices only", 1.5, true},
}

// protectGoal is the least share of what its write amplification allows that a protected
// layout's PUT must reach (issue: plain PUT MiB/s x logical bytes / bytes written).
const protectGoal = 0.8

// ProtectCmd measures the cost of mirroring and EC against a running cluster of at least four
// targets with two mountpaths each.
type ProtectCmd struct {
	Endpoint string        `short:"e" env:"AIS_ENDPOINT" default:"http://127.0.0.1:8080" placeholder:"URL" help:"Gateway of the cluster."`
	Sizes    []byteSize    `default:"1MiB,16MiB" help:"Object sizes."`
	Workers  int           `default:"8" help:"Concurrent requests."`
	Duration time.Duration `default:"3s" help:"Length of each run."`
	Victim   int           `placeholder:"PID" help:"Process ID of a target to SIGKILL before the last GETs (the restore path); 0: skip them."`
	Cluster  string        `help:"Description of the cluster for the report."`
	Cap      int64         `placeholder:"MIBPS" help:"For the report: the MiB/s each mountpath of the cluster is capped at ('ais-target --test-mountpath-mibps'), where the disks rather than the CPU set the limit."`
	PutsOnly bool          `help:"Measure only the PUTs."`
	Out      string        `required:"" placeholder:"FILE" help:"Where to write the results (JSON)."`
}

func (c *ProtectCmd) Run(ctx context.Context) error {
	res := &ProtectResult{Cluster: c.Cluster, Workers: c.Workers, Duration: c.Duration.String(), Load: loadAverage(),
		Cap: c.Cap, PutsOnly: c.PutsOnly}
	pat := newPattern()
	written := map[string]int64{}
	hc := benchHTTPClient(c.Workers)
	for _, size := range c.Sizes {
		for _, l := range protectLayouts {
			be, err := newNativeBackend(c.Endpoint, l.name, false, hc)
			if err != nil {
				return err
			}
			if err := ensureBucket(ctx, be.c, l.name, []byte(l.props)); err != nil {
				return err
			}
			prefix := fmt.Sprintf("%s/", formatSize(int64(size)))
			spec := loadSpec{Op: opPut, Workers: c.Workers, Duration: c.Duration, Prefix: prefix,
				MinSize: int64(size), MaxSize: int64(size)}
			sum, err := runLoad(ctx, spec, be, pat, nil)
			if err != nil {
				return err
			}
			cell := ProtectCell{Bucket: l.name, Layout: l.layout, Size: int64(size), Amp: l.amp, Put: sum.result(opPut)}
			written[l.name+prefix] = sum.NamesUsed
			fmt.Fprintf(os.Stderr, "%-24s %6s %s\n", l.layout, formatSize(int64(size)), cell.Put.line())
			if c.PutsOnly {
				res.Cells = append(res.Cells, cell)
				continue
			}
			spec.Op, spec.NumObjects = opGet, int(max(sum.NamesUsed, 1))
			if sum, err = runLoad(ctx, spec, be, pat, nil); err != nil {
				return err
			}
			cell.Get = sum.result(opGet)
			fmt.Fprintf(os.Stderr, "%-24s %6s %s\n", l.layout, formatSize(int64(size)), cell.Get.line())
			res.Cells = append(res.Cells, cell)
		}
	}
	if c.Victim > 0 && !c.PutsOnly {
		if err := syscall.Kill(c.Victim, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill the victim target %d: %w", c.Victim, err)
		}
		fmt.Fprintf(os.Stderr, "killed target process %d\n", c.Victim)
		for i := range res.Cells {
			cell := &res.Cells[i]
			if !protectSurvives(cell.Bucket) {
				continue
			}
			be, err := newNativeBackend(c.Endpoint, cell.Bucket, false, hc)
			if err != nil {
				return err
			}
			prefix := fmt.Sprintf("%s/", formatSize(cell.Size))
			spec := loadSpec{Op: opGet, Workers: c.Workers, Duration: c.Duration, Prefix: prefix,
				MinSize: cell.Size, MaxSize: cell.Size, NumObjects: int(max(written[cell.Bucket+prefix], 1))}
			sum, err := runLoad(ctx, spec, be, pat, nil)
			if err != nil {
				return err
			}
			r := sum.result(opGet)
			cell.GetDown = &r
			fmt.Fprintf(os.Stderr, "%-24s %6s target down: %s\n", cell.Layout, formatSize(cell.Size), r.line())
		}
	}
	return writeJSON(c.Out, res)
}

func protectSurvives(bucket string) bool {
	for _, l := range protectLayouts {
		if l.name == bucket {
			return l.survivesNode
		}
	}
	return false
}

// protectSection renders the results for docs/performance.md.
func protectSection(res *ProtectResult) string {
	var b []byte
	if res.Cap > 0 {
		b = fmt.Appendf(b, "\n### Data protection, disks capped at %d MiB/s\n\n", res.Cap)
		b = fmt.Appendf(b, "%s, every mountpath capped at %d MiB/s of reads and writes (`--test-mountpath-mibps`, the scale-out runs' disks): the disks, not the 2 cores, set the limit, which is what the write amplification goal assumes. %d workers, %s per run, buckets without fsync; *allowed* and the goal as above.\n\n",
			orDash(res.Cluster), res.Cap, res.Workers, res.Duration)
	} else {
		b = fmt.Appendf(b, "\n### Data protection\n\n")
		b = fmt.Appendf(b, "%s; %d workers, %s per run, buckets without fsync, disks not capped (on this machine the page cache and the 2 cores set the limit). Write amplification is the bytes written per logical byte (objects above `ec.objsize_limit`); *allowed* is the plain PUT's MiB/s divided by it, and the goal is at least %.1f of that. GETs of the EC buckets were measured again after a target was killed with SIGKILL (the reads of its objects are rebuilt from slices: the restore path).\n\n",
			orDash(res.Cluster), res.Workers, res.Duration, protectGoal)
	}
	b = fmt.Appendf(b, "| size | layout | write amplification | PUT MiB/s | allowed | PUT / allowed | GET MiB/s | GET MiB/s, a target down | PUT, GET errors |\n")
	b = fmt.Appendf(b, "|---:|---|---:|---:|---:|---:|---:|---:|---|\n")
	plain := map[int64]float64{}
	for _, c := range res.Cells {
		if c.Amp == 1 {
			plain[c.Size] = c.Put.MiBPerSec
		}
	}
	for _, c := range res.Cells {
		allowed, ratio := "", ""
		if p := plain[c.Size]; p > 0 && c.Amp > 1 {
			a := p / c.Amp
			allowed = fmtRate(a)
			r := c.Put.MiBPerSec / a
			mark := ""
			if r < protectGoal {
				mark = " (**below goal**)"
			}
			ratio = fmt.Sprintf("%.2f%s", r, mark)
		}
		down := ""
		errs := fmt.Sprintf("%d, %d", c.Put.Errors, c.Get.Errors)
		if c.GetDown != nil {
			down = fmtRate(c.GetDown.MiBPerSec)
			errs += fmt.Sprintf(" (down: %d)", c.GetDown.Errors)
		}
		get := fmtRate(c.Get.MiBPerSec)
		if res.PutsOnly {
			get, errs = "-", fmt.Sprintf("%d, -", c.Put.Errors)
		}
		b = fmt.Appendf(b, "| %s | %s | %.1f | %s | %s | %s | %s | %s | %s |\n", formatSize(c.Size), c.Layout, c.Amp,
			fmtRate(c.Put.MiBPerSec), orDash(allowed), orDash(ratio), get, orDash(down), errs)
	}
	return string(b)
}
