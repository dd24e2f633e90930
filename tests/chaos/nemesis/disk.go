package nemesis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/chaos/check"
	"github.com/aisfoundry/ais/tests/chaos/history"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

// Corrupt damages one stored object on disk: it flips a byte of the file in place, or
// truncates it. It picks an object that an acknowledged write created and that exists on
// exactly one mountpath of one target. With Redundant it picks instead an object that has
// redundancy right now, mirror copies on other mountpaths of its target or EC replicas or
// slices on other targets, and damages its primary copy (fault corrupt-copy): reads must then
// get the bytes restored from the redundancy.
type Corrupt struct{ Redundant bool }

func (c Corrupt) Name() string {
	if c.Redundant {
		return check.FaultCorruptCopy
	}
	return check.FaultCorrupt
}

func (c Corrupt) Plan(_ context.Context, env *Env) (*Injection, error) {
	var keys []string
	for _, e := range env.Rec.Events() {
		if e.F == history.Put && e.Type == history.OK && e.Process != history.Nemesis {
			keys = append(keys, e.Key)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no object written yet")
	}
	for try := 0; try < 40; try++ {
		key := keys[env.Rng.IntN(len(keys))]
		var node, path string
		var ok bool
		if c.Redundant {
			node, path, ok = locatePrimary(env.Cluster, env.Bucket, key)
		} else {
			node, path, ok = locate(env.Cluster, env.Bucket, key)
		}
		if !ok {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Size() < 2 {
			continue
		}
		size := fi.Size()
		if env.Rng.IntN(2) == 0 {
			at := env.Rng.Int64N(size)
			return &Injection{Description: fmt.Sprintf("flip byte %d of %d in %s:%s", at, size, node, path),
				Nodes: []string{node}, Key: key,
				Do: func(context.Context) error { return flipByte(path, at) }}, nil
		}
		to := env.Rng.Int64N(size)
		return &Injection{Description: fmt.Sprintf("truncate %s:%s from %d to %d bytes", node, path, size, to),
			Nodes: []string{node}, Key: key,
			Do: func(context.Context) error { return os.Truncate(path, to) }}, nil
	}
	if c.Redundant {
		return nil, errors.New("no written object with redundancy found")
	}
	return nil, errors.New("no written object found on exactly one mountpath")
}

// locatePrimary finds the primary copy of an object that has redundancy: its file on the
// object's HRW mountpath of the one target that holds it, and either another copy on that
// target (mirror) or a replica or slice on another target (EC).
func locatePrimary(c *testbed.Cluster, bucket, key string) (node, path string, ok bool) {
	var holders, copies, ecPieces int
	for _, t := range c.Targets {
		held := false
		for _, mp := range t.Mountpaths {
			if fi, err := os.Stat(filepath.Join(mp, "@ais", bucket, key)); err == nil && fi.Mode().IsRegular() {
				copies++
				held = true
			}
			if fi, err := os.Stat(filepath.Join(mp, ".ais", "ec", "@ais", bucket, key)); err == nil && fi.Mode().IsRegular() {
				ecPieces++
			}
		}
		if held {
			holders++
			primary := filepath.Join(meta.Mountpath(meta.ObjectKey(meta.BucketKey(meta.ProviderAIS, bucket), key), t.Mountpaths),
				"@ais", bucket, key)
			if _, err := os.Stat(primary); err == nil {
				node, path = t.Name, primary
			}
		}
	}
	return node, path, path != "" && holders == 1 && (copies >= 2 || ecPieces >= 1)
}

// locate finds the file of an object on the targets' mountpaths; ok only if there is exactly
// one.
func locate(c *testbed.Cluster, bucket, key string) (node, path string, ok bool) {
	n := 0
	for _, t := range c.Targets {
		for _, mp := range t.Mountpaths {
			p := filepath.Join(mp, "@ais", bucket, key)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				node, path = t.Name, p
				n++
			}
		}
	}
	return node, path, n == 1
}

func flipByte(path string, at int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		return err
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, at); err != nil {
		return err
	}
	return f.Sync()
}

// FillDisk fills a target's first mountpath (a size-limited tmpfs: testbed.Spec.TmpfsMiB) with
// a filler file until it is full, and removes the filler when healed.
type FillDisk struct {
	For [2]time.Duration
}

func (FillDisk) Name() string { return "fill-disk" }

func (f FillDisk) Plan(_ context.Context, env *Env) (*Injection, error) {
	if env.Cluster.Spec.TmpfsMiB == 0 {
		return nil, errors.New("targets have no tmpfs mountpath")
	}
	t := env.Cluster.Targets[env.Rng.IntN(len(env.Cluster.Targets))]
	filler := filepath.Join(t.Mountpaths[0], "aisc-filler")
	return &Injection{Description: fmt.Sprintf("fill %s:%s", t.Name, t.Mountpaths[0]), Nodes: []string{t.Name},
		Hold: f.For,
		Do:   func(context.Context) error { return fill(filler) },
		Heal: func(context.Context) ([]string, error) { return nil, os.Remove(filler) }}, nil
}

// fill writes zeros to path until the file system says it is full.
func fill(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{0}, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				return err
			}
			if len(buf) <= 4096 {
				return nil
			}
			buf = buf[:len(buf)/2]
		}
	}
}
