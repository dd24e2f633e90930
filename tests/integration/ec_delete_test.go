package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// TestECDeleteMissedTarget: a DELETE in an EC bucket while a target that holds a replica or a
// slice of the object is killed (still active in the map) answers 200, and the object never
// comes back: not while the target is away, not when it returns (chaos bug table row 12: a GET
// on the owner restored the deleted object from the replica the returning target kept), not
// after an ec-repair; the owner's background retry removes the pieces it kept. A write that
// followed the delete is not harmed.
func TestECDeleteMissedTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	const targets, victimIx = 4, 1
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: targets, Mountpaths: 1, Gateways: 1})
	cl, err := api.NewClient(c.GatewayURLs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	props := fmt.Sprintf(`{"write":{"fsync":false},"ec":{"enabled":true,"data":2,"parity":1,"objsize_limit":%d,"full_copy":true}}`, ecSizeLim)
	if err := cl.CreateBucket(ctx, ecBucket, []byte(props)); err != nil {
		t.Fatal(err)
	}
	// Objects whose owner is not the victim and that keep a piece on it: 8 replicated, 8 sliced.
	victim := fmt.Sprintf("t%d", victimIx)
	pl := ecPlacementOf(targets)
	var objs []body
	for i, small, large := 0, 0, 0; small < 8 || large < 8; i++ {
		name := fmt.Sprintf("del/%04d", i)
		order := pl.Order(meta.ObjectKey("ais/"+ecBucket, name), -1)
		size, n := int64(1000+i), 2 // replicas: P+1 holders
		if small >= 8 {
			size, n = ecSizeLim+int64(i)*1000, 3 // slices: D+P holders
		}
		if order[0].ID == victim {
			continue
		}
		holds := false
		for _, h := range order[1 : 1+n] {
			holds = holds || h.ID == victim
		}
		if !holds {
			continue
		}
		if size < ecSizeLim {
			small++
		} else {
			large++
		}
		objs = append(objs, body{name: name, size: size, seed: 21})
	}
	for _, o := range objs {
		if _, err := cl.PutObject(ctx, ecBucket, o.name, o.reader(), o.size, nil); err != nil {
			t.Fatal(err)
		}
		if findFile(c, victimIx, ".ais/ec/@ais/"+ecBucket+"/"+o.name) == "" {
			t.Fatalf("%s: no piece on %s after the PUT", o.name, victim)
		}
	}

	c.Targets[victimIx].Kill()
	for _, o := range objs {
		if err := cl.DeleteObject(ctx, ecBucket, o.name); err != nil {
			t.Fatalf("DELETE %s with %s killed: %v", o.name, victim, err)
		}
	}
	// One object is written again after its delete, while the victim is away (once it is
	// marked down: until then a PUT that must send it a piece answers 503).
	again := body{name: objs[0].name, size: 777, seed: 22}
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, err := cl.PutObject(ctx, ecBucket, again.name, bytes.NewReader(again.bytes()), again.size, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUT after the delete: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	absent := func(when string) {
		t.Helper()
		for _, o := range objs[1:] {
			rc, _, err := cl.GetObject(ctx, ecBucket, o.name, nil)
			if err == nil {
				rc.Close()
				t.Fatalf("%s: deleted %s came back", when, o.name)
			}
			if !errors.Is(err, meta.ErrObjectNotFound) {
				t.Fatalf("%s: GET of deleted %s: %v, want 404", when, o.name, err)
			}
		}
		rc, _, err := cl.GetObject(ctx, ecBucket, again.name, nil)
		if err == nil {
			err = again.compare(rc)
			rc.Close()
		}
		if err != nil {
			t.Fatalf("%s: the write after the delete: %v", when, err)
		}
	}
	absent(victim + " killed")

	if err := c.Targets[victimIx].Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// The owners retry their deletes every 2 s; read all the while, until the victim's pieces
	// of the deleted objects are gone.
	start := time.Now()
	for {
		absent(victim + " back")
		left := 0
		for _, o := range objs[1:] {
			if findFile(c, victimIx, ".ais/ec/@ais/"+ecBucket+"/"+o.name) != "" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("%d of %d pieces of deleted objects still on %s after %s", left, len(objs)-1, victim, time.Since(start).Round(time.Second))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%s's pieces of %d deleted objects removed %s after its restart", victim, len(objs)-1, time.Since(start).Round(100*time.Millisecond))

	j, err := cl.StartJob(ctx, api.JobRequest{Kind: "ec-repair", Args: map[string]string{"bucket": ecBucket}})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = cl.WaitJob(ctx, j.ID, 200*time.Millisecond); err != nil || j.State != meta.JobFinished {
		t.Fatalf("ec-repair: %+v %v", j, err)
	}
	absent("after ec-repair")
	entries, err := cl.ListAllObjects(ctx, ecBucket, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != again.name || entries[0].Size != again.size {
		t.Fatalf("listing after the deletes: %+v, want only %s (%d bytes)", entries, again.name, again.size)
	}
}
