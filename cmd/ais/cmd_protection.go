package main

import (
	"context"
	"fmt"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// StorageSummaryCmd is "ais storage summary ais://BUCKET".
type StorageSummaryCmd struct {
	Bucket string `arg:"" name:"BUCKET" predictor:"bucket" help:"The bucket, ais://NAME."`
	jsonFlag
}

// Run shows the bucket's summary.
func (c *StorageSummaryCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	u, err := parseURI(c.Bucket, true)
	if err != nil {
		return err
	}
	s, err := cl.BucketSummary(ctx, u.Bucket)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(con.Out, s)
	}
	fmt.Fprintf(con.Out, "%s  %d objects  %s logical  %s on disk\n", u.BucketString(), s.Objects,
		humanSize(s.LogicalBytes), humanSize(s.DiskBytes))
	if s.Mirror != nil {
		sync := "async"
		if s.Mirror.Sync {
			sync = "sync"
		}
		fmt.Fprintf(con.Out, "mirror: %d copies (%s)\n", s.Mirror.Copies, sync)
	}
	if s.EC != nil {
		if s.EC.Enabled {
			fmt.Fprintf(con.Out, "ec: %d data + %d parity, objects under %s replicated, full copy %v\n",
				s.EC.Data, s.EC.Parity, humanSize(s.EC.ObjSizeLimit), s.EC.FullCopy)
		} else {
			fmt.Fprintln(con.Out, "ec: off")
		}
	}
	if len(s.Unreachable) > 0 {
		fmt.Fprintf(con.Out, "unreachable (not counted): %v\n", s.Unreachable)
	}
	fmt.Fprintln(con.Out)
	t := newTable("TARGET", ">OBJECTS", ">LOGICAL", ">FILES", ">ON DISK", ">EC")
	for _, ts := range append(s.Targets, api.TargetSummary{Node: "TOTAL", Objects: s.Objects,
		LogicalBytes: s.LogicalBytes, Files: s.Files, DiskBytes: s.DiskBytes, ECBytes: s.ECBytes}) {
		t.add(ts.Node, fmt.Sprint(ts.Objects), humanSize(ts.LogicalBytes), fmt.Sprint(ts.Files),
			humanSize(ts.DiskBytes), humanSize(ts.ECBytes))
	}
	return t.write(con.Out)
}

// StorageScrubCmd is "ais storage scrub ais://BUCKET": a scrub job on every target.
type StorageScrubCmd struct {
	Bucket string `arg:"" name:"BUCKET" predictor:"bucket" help:"The bucket, ais://NAME."`
	Wait   bool   `help:"Wait until the scrub has ended and show what it found."`
}

// Run starts the scrub.
func (c *StorageScrubCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	u, err := parseURI(c.Bucket, true)
	if err != nil {
		return err
	}
	j, err := cl.StartJob(ctx, api.JobRequest{Kind: meta.JobScrub, Args: map[string]string{"bucket": u.Bucket}})
	if err != nil {
		return err
	}
	fmt.Fprintf(con.Out, "started %s (ais job show %s)\n", j.ID, j.ID)
	if !c.Wait {
		return nil
	}
	if err := (&JobWaitCmd{ID: j.ID}).Run(ctx, cl, con); err != nil {
		return err
	}
	if j, err = cl.Job(ctx, j.ID); err != nil {
		return err
	}
	return writeScrub(con, j)
}

// writeScrub shows a scrub job's findings per target.
func writeScrub(con *console, j *api.Job) error {
	t := newTable("TARGET", "STATE", ">CHECKED", ">DAMAGED", ">RESTORED", ">UNRECOVERABLE", ">ERRORS", "NOTE")
	for _, p := range append(j.Targets, meta.JobStatus{Node: "TOTAL", Counters: j.Counters}) {
		note := p.Detail
		if p.Error != "" {
			note = p.Error
		}
		t.add(p.Node, string(p.State), fmt.Sprint(p.Counters.Checked), fmt.Sprint(p.Counters.Damaged),
			fmt.Sprint(p.Counters.Restored), fmt.Sprint(p.Counters.Unrecoverable), fmt.Sprint(p.Counters.Errors), note)
	}
	return t.write(con.Out)
}
