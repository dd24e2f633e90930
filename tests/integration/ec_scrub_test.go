package integration

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// TestECScrub damages 100 owner copies of an erasure-coded bucket on disk (a flipped byte or a
// cut file: what a walk of the files finds) and runs a scrub: it reports every object checked,
// 100 damaged and 100 restored from the slices and replicas, and every object reads back right.
func TestECScrub(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c, cl, objs := ecCluster(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pl := ecPlacement()
	damaged := 0
	for k, o := range objs {
		if o.size < 2 || damaged == 100 {
			continue
		}
		owner, _ := pl.Owner(meta.ObjectKey("ais/"+ecBucket, o.name))
		p := findFile(c, targetIndex(owner.ID), "@ais/"+ecBucket+"/"+o.name)
		if p == "" {
			t.Fatalf("%s: no owner copy", o.name)
		}
		if k%2 == 0 {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := []byte{0}
			_, _ = f.ReadAt(b, o.size/2)
			b[0] ^= 0x5a
			_, _ = f.WriteAt(b, o.size/2)
			f.Close()
		} else if err := os.Truncate(p, o.size/2); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	start := time.Now()
	j, err := cl.StartJob(ctx, api.JobRequest{Kind: meta.JobScrub, Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = cl.WaitJob(ctx, j.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	cnt := j.Counters
	t.Logf("scrub %s: %s in %s: %d checked, %d damaged, %d restored, %d unrecoverable, %d errors", j.ID, j.State,
		time.Since(start).Round(time.Millisecond), cnt.Checked, cnt.Damaged, cnt.Restored, cnt.Unrecoverable, cnt.Errors)
	if j.State != meta.JobFinished || cnt.Checked != int64(len(objs)) || cnt.Damaged != 100 || cnt.Restored != 100 ||
		cnt.Unrecoverable != 0 {
		t.Fatalf("scrub: %s, counters %+v; want %d checked, 100 damaged, 100 restored", j.State, cnt, len(objs))
	}
	checkLayout(t, c, objs, true)
	if errs, wrong := readAll(ctx, t, cl, objs); errs != 0 || wrong != 0 {
		t.Fatalf("after the scrub: %d errors and %d wrong objects, want 0", errs, wrong)
	}
}
