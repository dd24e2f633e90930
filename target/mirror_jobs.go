package target

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/balancer"
	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// The jobs of data protection (docs/protection.md):
//
//   - mirror, per-PUT: a target's queue of objects whose copies are to be made after their PUT
//     was answered (mirror.sync off). It runs as a job of kind mirror while the queue has work
//     and ends after mirrorIdle without any.
//   - mirror, per bucket: started on every target when a bucket's mirror.copies changes (seen
//     in a new epoch), or by request (ais job start mirror ais://b); adds or removes copies of
//     every object of the bucket.
//   - scrub, per bucket, by request: hashes every object and copy of the bucket, counts what is
//     damaged and restores it from redundancy (restore). Stopping a scrub and starting it
//     again starts over: a scrub is resumed by running it again.

// mirrorQueueLen bounds the queue of objects waiting for their copies; a PUT that finds it full
// waits (back-pressure) rather than dropping a copy.
const mirrorQueueLen = 4096

// mirrorIdle is how long the per-PUT mirror job waits for work before it ends.
const mirrorIdle = 2 * time.Second

// mirrorState is the target's mirroring machinery.
type mirrorState struct {
	reads    readLoad
	restores flights
	queue    chan mirrorTask

	mu struct {
		sync.Mutex
		job        *jobs.Job         // the per-PUT mirror job while it runs
		pending    int               // tasks queued or being worked on
		jobBuckets map[string]string // bucket of each mirror and scrub job, by job ID
	}
}

type mirrorTask struct {
	bucket meta.Bucket
	epoch  uint64
	name   string
}

// initProtection registers the mirror and scrub job kinds and the hooks of mirroring.
func (s *Server) initProtection() {
	s.mirror = &mirrorState{queue: make(chan mirrorTask, mirrorQueueLen)}
	s.mirror.restores.m = map[string]*flight{}
	s.store.afterPut = s.afterPut
	// A new write counts its version up from every local copy, not only the primary: after a
	// lost disk took the primary, a copy elsewhere must not look newer than the new write.
	floor := s.store.versionFloor
	s.store.versionFloor = func(ctx context.Context, b *meta.Bucket, name string) uint64 {
		var v uint64
		if floor != nil {
			v = floor(ctx, b, name)
		}
		if m := s.store.NewestMeta(b, name); m != nil {
			v = max(v, m.Version)
		}
		return v
	}
	s.follower.OnNewEpoch(s.mirrorOnNewEpoch)
	s.jobs.RegisterKind(meta.JobMirror, func(id string, args map[string]string) (*jobs.Job, error) {
		return s.startBucketJob(meta.JobMirror, id, args)
	})
	s.jobs.RegisterKind(meta.JobScrub, func(id string, args map[string]string) (*jobs.Job, error) {
		return s.startBucketJob(meta.JobScrub, id, args)
	})
}

// afterPut runs once a write has renamed an object into its primary place: older copies on the
// other mountpaths go at once; new copies are made now (mirror.sync) or queued. teed copies
// were written in the write's own pass (mirror_tee.go).
func (s *Server) afterPut(ctx context.Context, b *meta.Bucket, epoch uint64, rec *ObjectMeta, teed int) error {
	s.store.dropStaleCopies(b, rec, b.Props.Write.Fsync)
	if n := s.store.copiesOf(b); n <= 1 || teed >= n-1 {
		return nil
	}
	if b.Props.Mirror.Sync {
		rep, err := s.store.ensureCopies(ctx, b, epoch, rec.Name, false)
		if err != nil {
			return fmt.Errorf("target: mirror %s/%s: %w", b.Key(), rec.Name, err)
		}
		if rep.Unrecoverable {
			return fmt.Errorf("target: mirror %s/%s: %w: the object changed while its copies were made", b.Key(), rec.Name, meta.ErrUnavailable)
		}
		return nil
	}
	return s.enqueueMirror(ctx, mirrorTask{bucket: *b, epoch: epoch, name: rec.Name})
}

// enqueueMirror queues an object for its copies, starting the per-PUT mirror job if none runs.
func (s *Server) enqueueMirror(ctx context.Context, t mirrorTask) error {
	m := s.mirror
	m.mu.Lock()
	m.mu.pending++
	if m.mu.job == nil {
		j, err := s.jobs.Start(meta.JobMirror, fmt.Sprintf("%s-put-%s-%d", meta.JobMirror, s.id, s.clock.Now().UnixMilli()),
			t.epoch, s.runMirrorQueue)
		if err != nil {
			m.mu.pending--
			m.mu.Unlock()
			s.log.Warn("cannot start the mirror job; copies will be made by the next mirror or scrub job", "err", err)
			return nil
		}
		m.mu.job = j
	}
	m.mu.Unlock()
	select {
	case m.queue <- t:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		m.mu.pending--
		m.mu.Unlock()
		return nil // the object is stored; its copies wait for a mirror or scrub job
	}
}

// runMirrorQueue is the per-PUT mirror job: it makes the copies of queued objects until the
// queue has been empty for mirrorIdle.
func (s *Server) runMirrorQueue(ctx context.Context, j *jobs.Job) error {
	m := s.mirror
	idle := s.clock.After(mirrorIdle)
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.mu.job = nil
			m.mu.Unlock()
			return context.Cause(ctx)
		case t := <-m.queue:
			s.mirrorOne(ctx, j, t)
			m.mu.Lock()
			m.mu.pending--
			m.mu.Unlock()
			idle = s.clock.After(mirrorIdle)
		case <-idle:
			m.mu.Lock()
			if m.mu.pending == 0 {
				m.mu.job = nil
				m.mu.Unlock()
				return nil
			}
			m.mu.Unlock()
			idle = s.clock.After(mirrorIdle)
		}
	}
}

// mirrorOne makes the copies of one queued object, under the bucket's current properties.
func (s *Server) mirrorOne(ctx context.Context, j *jobs.Job, t mirrorTask) {
	b, epoch, ok := s.currentBucket(t.bucket.Provider, t.bucket.Name, t.bucket.ID)
	if !ok {
		b, epoch = &t.bucket, t.epoch // unit tests run without epochs
		if v := s.follower.Current(); v != nil {
			return // the bucket is gone
		}
	}
	rep, err := s.store.ensureCopies(ctx, b, epoch, t.name, false)
	j.AddLocal(1, rep.Size)
	j.AddSent(int64(rep.Made), rep.MadeBytes)
	if err != nil && !errors.Is(err, meta.ErrObjectNotFound) {
		j.AddError()
		s.log.Warn("mirror copy failed", "bucket", b.Key(), "object", t.name, "err", err)
	}
}

// currentBucket returns a bucket as the current epoch has it, if it still has the given ID.
func (s *Server) currentBucket(p meta.Provider, name string, id uint64) (*meta.Bucket, uint64, bool) {
	v := s.follower.Current()
	if v == nil {
		return nil, 0, false
	}
	b, ok := v.Snap.Bucket(p, name)
	if !ok || (id != 0 && b.ID != id) {
		return nil, v.Snap.Epoch, false
	}
	return &b, v.Snap.Epoch, true
}

// mirrorOnNewEpoch starts a mirror job for every bucket whose mirror.copies changed. The job ID
// is the same on every target (bucket and epoch), so the jobs API shows one job.
func (s *Server) mirrorOnNewEpoch(prev, cur *api.View) {
	if prev == nil || cur == nil {
		return
	}
	for key, b := range cur.Snap.Buckets {
		old, ok := prev.Snap.Buckets[key]
		if !ok || old.ID != b.ID || old.Props.Mirror.Copies == b.Props.Mirror.Copies {
			continue
		}
		id := fmt.Sprintf("%s-%s-%d", meta.JobMirror, b.Name, cur.Snap.Epoch)
		if _, err := s.startBucketJob(meta.JobMirror, id, map[string]string{"bucket": b.Name}); err != nil {
			s.log.Warn("cannot start the mirror job after mirror.copies changed", "bucket", key, "err", err)
		}
	}
}

// startBucketJob starts a mirror or scrub job over one bucket (args["bucket"]: its name, with
// or without "ais://"). A running job of the same kind over the same bucket is superseded.
func (s *Server) startBucketJob(kind, id string, args map[string]string) (*jobs.Job, error) {
	name := trimScheme(args["bucket"])
	if name == "" {
		return nil, fmt.Errorf("%w: a %s job needs a bucket (args.bucket)", meta.ErrInvalidRequest, kind)
	}
	if err := meta.ValidateBucketName(name); err != nil {
		return nil, err
	}
	b, epoch, ok := s.currentBucket(meta.ProviderAIS, name, 0)
	if !ok {
		return nil, fmt.Errorf("target: %s job: %w: ais://%s", kind, meta.ErrBucketNotFound, name)
	}
	var older []*jobs.Job
	for _, j := range s.jobs.Running(kind) {
		if s.bucketOfJob(j.ID()) == b.Name {
			older = append(older, j)
		}
	}
	j, err := s.jobs.Start(kind, id, epoch, func(ctx context.Context, j *jobs.Job) error {
		for _, o := range older {
			o.Abort(jobs.ErrSuperseded)
			select {
			case <-o.Done():
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return s.runBucketJob(ctx, j, kind, b.Name, b.ID)
	})
	if err == nil {
		s.mirror.noteBucket(j.ID(), b.Name)
	}
	return j, err
}

func trimScheme(name string) string {
	if len(name) > 6 && name[:6] == "ais://" {
		name = name[6:]
	}
	for len(name) > 0 && name[len(name)-1] == '/' {
		name = name[:len(name)-1]
	}
	return name
}

// runBucketJob walks one bucket on this target and brings every object's copies in order;
// a scrub hashes every copy and counts damage.
func (s *Server) runBucketJob(ctx context.Context, j *jobs.Job, kind, bucket string, id uint64) error {
	scrub := kind == meta.JobScrub
	b, _, ok := s.currentBucket(meta.ProviderAIS, bucket, id)
	if !ok {
		return fmt.Errorf("target: %s: %w: ais://%s", kind, meta.ErrBucketNotFound, bucket)
	}
	var checked int64
	err := s.store.walkBucket(ctx, b, func(name string) error {
		cb, epoch, ok := s.currentBucket(meta.ProviderAIS, bucket, id)
		if !ok {
			return fmt.Errorf("target: %s: %w: ais://%s was destroyed", kind, meta.ErrBucketNotFound, bucket)
		}
		rep, err := s.restore(ctx, cb, epoch, name, scrub)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		checked++
		j.AddLocal(1, rep.Size)
		j.AddSent(int64(rep.Made), rep.MadeBytes)
		if scrub {
			j.AddScrub(1, int64(bool2int(rep.Damaged)), int64(bool2int(rep.Restored)), int64(bool2int(rep.Unrecoverable)))
			if rep.Damaged {
				s.log.Warn("scrub: damaged object", "bucket", cb.Key(), "object", name, "restored", rep.Restored,
					"unrecoverable", rep.Unrecoverable)
			}
		}
		if err != nil && !errors.Is(err, meta.ErrObjectNotFound) {
			j.AddError()
			s.log.Warn(kind+": object not repaired", "bucket", cb.Key(), "object", name, "err", err)
		}
		if checked%100 == 0 {
			j.SetDetail(fmt.Sprintf("%d objects", checked))
		}
		return nil
	})
	j.SetDetail(fmt.Sprintf("%d objects", checked))
	return err
}

// restore brings one object's redundancy back in order: its mirror copies first (with verify,
// every copy is hashed whole); when no valid local copy is left and the bucket is erasure
// coded, the object is rebuilt from its replicas or slices (ec_restore.go) and its copies are
// made again from it.
func (s *Server) restore(ctx context.Context, b *meta.Bucket, epoch uint64, name string, verify bool) (copyReport, error) {
	if m := s.store.NewestMeta(b, name); m != nil && m.EC.Sliced() {
		// Only the record is here (ec.full_copy off): the bytes are in the slices, which carry
		// their own checksums and which ec-repair checks and rebuilds.
		return copyReport{Size: m.Size}, nil
	}
	rep, err := s.store.ensureCopies(ctx, b, epoch, name, verify)
	if !rep.Unrecoverable || !b.Props.EC.Enabled || ctx.Err() != nil {
		return rep, err
	}
	obj, rerr := s.restoreFromEC(ctx, b, name, nil, fmt.Errorf("%w: no valid copy on %s", meta.ErrCorrupt, s.id))
	if rerr != nil {
		return rep, rerr
	}
	_ = obj.Close()
	rep.Restored, rep.Unrecoverable = true, false
	if s.store.copiesOf(b) > 1 {
		more, err := s.store.ensureCopies(ctx, b, epoch, name, false)
		rep.Made, rep.MadeBytes = rep.Made+more.Made, rep.MadeBytes+more.MadeBytes
		return rep, err
	}
	return rep, nil
}

// noteBucket and bucketOfJob remember which bucket a mirror or scrub job works on.
func (m *mirrorState) noteBucket(id, bucket string) {
	m.mu.Lock()
	if m.mu.jobBuckets == nil {
		m.mu.jobBuckets = map[string]string{}
	}
	m.mu.jobBuckets[id] = bucket
	m.mu.Unlock()
}

func (s *Server) bucketOfJob(id string) string {
	s.mirror.mu.Lock()
	defer s.mirror.mu.Unlock()
	return s.mirror.mu.jobBuckets[id]
}

// refillMirrors gives every object of every mirrored bucket its copies: the last step of a
// resilver, after a mountpath was lost, wiped or added.
func (s *Server) refillMirrors(ctx context.Context, j *jobs.Job) error {
	v := s.follower.Current()
	if v == nil {
		return nil
	}
	for _, b := range v.Snap.Buckets {
		if s.store.copiesOf(&b) <= 1 {
			continue
		}
		j.SetDetail("mirror copies of " + b.Key())
		err := s.store.walkBucket(ctx, &b, func(name string) error {
			cb, epoch, ok := s.currentBucket(b.Provider, b.Name, b.ID)
			if !ok {
				return errBucketGone
			}
			rep, err := s.store.ensureCopies(ctx, cb, epoch, name, false)
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			j.AddReceived(int64(rep.Made), rep.MadeBytes)
			if err != nil && !errors.Is(err, meta.ErrObjectNotFound) {
				j.AddError()
				s.log.Warn("resilver: mirror copy not made", "bucket", cb.Key(), "object", name, "err", err)
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBucketGone) {
			return err
		}
	}
	j.SetDetail("")
	return nil
}

var errBucketGone = errors.New("target: bucket destroyed during the walk")

// walkBucket calls fn once for every object name of bucket b found on the store's mountpaths
// (a name with copies on several mountpaths once). It remembers the names it has visited, so
// its memory grows with the bucket's object count on this target.
func (s *Store) walkBucket(ctx context.Context, b *meta.Bucket, fn func(name string) error) error {
	seen := map[string]struct{}{}
	for _, mp := range s.walkMountpaths() {
		dir := bucketDir(mp, b.Provider, b.Name)
		mk, ok := s.readMarker(dir)
		if !ok || mk.id != b.ID {
			continue
		}
		w := &walker{s: s, ctx: ctx, mp: mp, bucketID: b.ID, bucketKey: b.Key(), fn: func(it balancer.Item) error {
			if _, dup := seen[it.Name]; dup {
				return nil
			}
			seen[it.Name] = struct{}{}
			return fn(it.Name)
		}}
		if err := w.walk(dir, ""); err != nil {
			return err
		}
	}
	return nil
}
