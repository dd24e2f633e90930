package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/jobs"
	"github.com/aisfoundry/ais/meta"
)

// Job kinds of erasure coding (meta/job.go lists the common ones).
const (
	JobECEncode = "ec-encode" // encode every object of a bucket that has no slices yet
	JobECRepair = "ec-repair" // put every missing slice, replica or owner's copy of a bucket back
)

// errEncoded tells ec-encode that an object already has its layout.
var errEncoded = errors.New("target: already encoded")

// ecState is the target's erasure-coding state and counters.
type ecState struct {
	encoded, restored, repaired atomic.Int64
	fallback                    atomic.Int64 // reads served for an unreachable owner
	received, refused           atomic.Int64 // slices stored for others; writes refused by the fence
	sentBytes                   atomic.Int64
	// LeaseTTL of the EC jobs' leases (0: the cluster's lease_ttl). Tests shorten it.
	leaseTTL time.Duration

	busyMu sync.Mutex
	busy   map[string]int // bucket name -> EC jobs of it running on this target
}

// argAuto marks an ec-repair started by a placement change: it is skipped on a target that
// already runs an EC job of the bucket (that job places the slices by the newest map anyway).
const argAuto = "auto"

// initEC adds the EC endpoints and job kinds.
func (s *Server) initEC() {
	s.ecRoutes()
	for _, kind := range []string{JobECEncode, JobECRepair} {
		s.jobs.RegisterKind(kind, func(id string, args map[string]string) (*jobs.Job, error) {
			if args[argAuto] != "" && s.ecBusy(args["bucket"]) {
				return nil, fmt.Errorf("%w: an EC job of ais://%s runs on %s", meta.ErrJobRunning, args["bucket"], s.id)
			}
			return s.startECJob(kind, id, args["bucket"])
		})
	}
	s.control.GET("/v1/internal/ec/stats", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]int64{"encoded": s.ec.encoded.Load(), "restored": s.ec.restored.Load(),
			"repaired": s.ec.repaired.Load(), "received": s.ec.received.Load(), "refused_stale_token": s.ec.refused.Load(),
			"sent_bytes": s.ec.sentBytes.Load(), "fallback_reads": s.ec.fallback.Load()})
	})
	s.follower.OnNewEpoch(s.ecOnNewEpoch)
}

// ecOnNewEpoch starts ec-encode on a bucket whose EC was just turned on.
func (s *Server) ecOnNewEpoch(prev, cur *api.View) {
	if prev == nil {
		return
	}
	for key, b := range cur.Snap.Buckets {
		old, ok := prev.Snap.Buckets[key]
		if !b.Props.EC.Enabled || (ok && old.ID == b.ID && old.Props.EC.Enabled) {
			continue
		}
		id := fmt.Sprintf("%s-%s-e%d", JobECEncode, b.Name, cur.Snap.Epoch)
		if _, err := s.startECJob(JobECEncode, id, b.Name); err != nil {
			s.log.Warn("ec-encode not started", "bucket", key, "err", err)
		}
	}
}

func (s *Server) ecBusy(bucket string) bool {
	s.ec.busyMu.Lock()
	defer s.ec.busyMu.Unlock()
	return s.ec.busy[bucket] > 0
}

func (s *Server) ecBusyAdd(bucket string, d int) {
	s.ec.busyMu.Lock()
	defer s.ec.busyMu.Unlock()
	if s.ec.busy == nil {
		s.ec.busy = map[string]int{}
	}
	if s.ec.busy[bucket] += d; s.ec.busy[bucket] <= 0 {
		delete(s.ec.busy, bucket)
	}
}

// ecAfterSettle starts an ec-repair of every erasure-coded bucket once a new placement has
// settled (every target finished its rebalance towards it): rebalance moves owners' copies,
// and this job moves slices and replicas to their places under the new placement and removes
// the ones left behind. The active target with the lowest ID starts it on every active target
// at once, under one ID (the placement's), as the gateway does for a job started by hand.
func (s *Server) ecAfterSettle(v *api.View, placement uint64) {
	targets := v.Snap.ActiveTargets()
	if len(targets) == 0 || slices.MinFunc(targets, func(a, b meta.Node) int { return strings.Compare(a.ID, b.ID) }).ID != s.id {
		return
	}
	for _, b := range v.Snap.Buckets {
		if b.Provider != meta.ProviderAIS || !b.Props.EC.Enabled {
			continue
		}
		req := api.JobRequest{Kind: JobECRepair, ID: fmt.Sprintf("%s-%s-p%08x", JobECRepair, b.Name, uint32(placement)),
			Args: map[string]string{"bucket": b.Name, argAuto: "1"}}
		for _, n := range targets {
			if err := s.startPeerJob(n, req); err != nil && !errors.Is(err, meta.ErrJobRunning) {
				s.log.Warn("ec-repair after a placement change not started", "bucket", b.Key(), "node", n.ID, "err", err)
			}
		}
		s.log.Info("started an ec-repair after a placement change", "bucket", b.Key(), "job", req.ID, "targets", len(targets))
	}
}

// startPeerJob starts a job on target n (this one included) through its control listener.
func (s *Server) startPeerJob(n meta.Node, req api.JobRequest) error {
	if n.ID == s.id {
		_, err := s.jobs.StartKind(req.Kind, req.ID, req.Args)
		return err
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, n.ControlURL+"/v1/internal/jobs", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := s.reb.peer.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return api.ReadError(resp)
	}
	return nil
}

// spoolFile is a work file that holds bytes for a moment (a slice before it is sent).
type spoolFile struct {
	s    *Store
	path string
	f    File
}

func (s *Server) spool(b *meta.Bucket, name string) (*spoolFile, error) {
	mp, _, err := s.store.locate(b, name)
	if err != nil {
		return nil, err
	}
	p := mp + "/" + workDir + "/" + randomHex(12)
	f, err := s.store.fs.Create(p)
	if err != nil {
		return nil, err
	}
	return &spoolFile{s: s.store, path: p, f: f}, nil
}

// reopen opens the spooled bytes for reading (the spool's own handle is write-only).
func (sf *spoolFile) reopen() (File, error) { return sf.s.fs.Open(sf.path) }

func (sf *spoolFile) remove() {
	_ = sf.f.Close()
	_ = sf.s.fs.Remove(sf.path)
}

// damagedMeta returns the record of the owner's copy of an object even if its bytes are
// damaged (nil if there is no readable record).
func (s *Store) damagedMeta(b *meta.Bucket, name string) *ObjectMeta {
	_, path, err := s.locate(b, name)
	if err != nil {
		return nil
	}
	raw, err := s.fs.GetXattr(s.dirObjectPath(path), xattrMeta)
	if err != nil {
		return nil
	}
	m, err := decodeObjMeta(raw)
	if err != nil || m.BucketID != b.ID || m.Name != name {
		return nil
	}
	return m
}

// setECInfo adds the EC layout to a stored object's record (ec-encode), unless the object
// changed meanwhile.
func (s *Store) setECInfo(b *meta.Bucket, name string, was *ObjectMeta, info *ECInfo) error {
	_, path, err := s.locate(b, name)
	if err != nil {
		return err
	}
	path = s.dirObjectPath(path)
	mu := s.lock(b, name)
	mu.Lock()
	defer mu.Unlock()
	cur := s.currentMeta(path, b, name)
	if cur == nil || cur.Version != was.Version || cur.Mtime != was.Mtime {
		return nil
	}
	cur.EC = info
	raw, err := encodeObjMeta(cur)
	if err != nil {
		return err
	}
	return s.fs.SetXattr(path, xattrMeta, raw)
}

// verifyObject checks the bytes of an object read through h against its record.
func verifyObject(rec *ObjectMeta, h hash.Hash) error {
	if h == nil {
		return nil
	}
	if got := h.Sum(nil); string(got) != string(rec.Checksum) {
		return fmt.Errorf("target: %s: %w: %s %x, stored %x", rec.Name, meta.ErrCorrupt, rec.ChecksumType, got, rec.Checksum)
	}
	return nil
}

// startECJob runs an ec-encode or ec-repair of a bucket on this target. The job holds a lease
// from meta (one per target and job) and every slice it writes carries the lease's fencing
// token, so a holder that was paused past its lease cannot overwrite newer slices.
func (s *Server) startECJob(kind, id, bucket string) (*jobs.Job, error) {
	if err := meta.ValidateBucketName(bucket); err != nil {
		return nil, fmt.Errorf("%w: %s needs a bucket (args.bucket)", err, kind)
	}
	view := s.follower.Current()
	if view == nil {
		return nil, fmt.Errorf("%w: no cluster map yet", meta.ErrUnavailable)
	}
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		return nil, fmt.Errorf("%w: ais://%s", meta.ErrBucketNotFound, bucket)
	}
	if !b.Props.EC.Enabled {
		return nil, fmt.Errorf("%w: ais://%s does not have ec.enabled", meta.ErrInvalidRequest, bucket)
	}
	return s.jobs.Start(kind, id, view.Snap.Epoch, func(ctx context.Context, j *jobs.Job) error {
		s.ecBusyAdd(bucket, 1)
		defer s.ecBusyAdd(bucket, -1)
		lease, err := jobs.Hold(ctx, metaGranter{s.mc}, jobs.LeaseArgs{JobID: id + "@" + s.id, Kind: kind,
			Holder: s.id, TTL: s.ec.leaseTTL, Log: s.log})
		if err != nil {
			return err
		}
		defer lease.Release(context.WithoutCancel(ctx))
		f := &ecFence{lease: id + "@" + s.id, token: lease.Token}
		return s.runECJob(ctx, j, kind, bucket, f)
	})
}

func (s *Server) runECJob(ctx context.Context, j *jobs.Job, kind, bucket string, f *ecFence) error {
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	work := func(name string, size int64) {
		g.Go(func() error {
			view := s.follower.Current()
			b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
			if !ok {
				return fmt.Errorf("%w: ais://%s", meta.ErrBucketNotFound, bucket)
			}
			sent, err := s.repairObject(gctx, view, &b, name, f, kind == JobECEncode)
			if errors.Is(err, errEncoded) {
				return nil
			}
			if err != nil {
				if errors.Is(err, meta.ErrStaleToken) {
					return err // fenced off: another holder has the lease
				}
				j.AddError()
				s.log.Warn("EC job: object not repaired", "job", j.ID(), "object", name, "err", err)
				return nil
			}
			j.AddLocal(1, size)
			if sent > 0 {
				j.AddSent(1, sent)
			}
			return nil
		})
	}
	// 1. The objects this target owns.
	view := s.follower.Current()
	b, ok := view.Snap.Bucket(meta.ProviderAIS, bucket)
	if !ok {
		return fmt.Errorf("%w: ais://%s", meta.ErrBucketNotFound, bucket)
	}
	j.SetDetail("objects")
	after := ""
	for {
		ms, more, err := s.store.List(gctx, &b, ListArgs{StartAfter: after, Limit: 1000})
		if err != nil {
			if werr := g.Wait(); werr != nil {
				return werr // the cause (a stale token) rather than the cancelled listing
			}
			return err
		}
		for i := range ms {
			if o, err := view.Placement.Owner(meta.ObjectKey(b.Key(), ms[i].Name)); err == nil && o.ID == s.id {
				work(ms[i].Name, ms[i].Size)
			}
		}
		if !more || len(ms) == 0 || gctx.Err() != nil {
			break
		}
		after = ms[len(ms)-1].Name
	}
	// 2. Objects whose owner lost its copy: the first holder of a slice asks the owner to
	// rebuild it (ec-repair).
	if kind == JobECRepair {
		j.SetDetail("slices")
		err := s.store.WalkSlices(gctx, &b, func(rec *codec.SliceMeta) error {
			owner, err := view.Placement.Owner(meta.ObjectKey(b.Key(), rec.Name))
			if err != nil || owner.ID == s.id {
				return nil
			}
			name := rec.Name
			g.Go(func() error {
				if err := s.askOwner(gctx, view, &b, name, owner, rec, f); err != nil {
					j.AddError()
					s.log.Warn("EC repair: owner not repaired", "object", name, "owner", owner.ID, "err", err)
				}
				return nil
			})
			return nil
		})
		if err != nil {
			if werr := g.Wait(); werr != nil {
				return werr
			}
			return err
		}
	}
	err := g.Wait()
	c := j.Counters()
	secs := time.Since(start).Seconds()
	j.SetDetail(fmt.Sprintf("done: %d objects, %d slice bytes sent, %.1f MiB/s", c.LocalObjects, c.SentBytes,
		float64(c.SentBytes)/(1<<20)/max(secs, 1e-3)))
	return err
}

// askOwner makes sure the owner of an object this target holds a slice of has its copy: if
// it has none and this target is the first slice holder in HRW order, it asks the owner to
// rebuild it.
func (s *Server) askOwner(ctx context.Context, view *api.View, b *meta.Bucket, name string, owner meta.Node,
	rec *codec.SliceMeta, f *ecFence) error {
	if ci, found, err := s.reb.headCopy(ctx, owner, b, name); err != nil || (found && ci.Version >= rec.ObjVersion) {
		return err
	}
	for _, n := range view.Placement.Order(meta.ObjectKey(b.Key(), name), -1)[1:] {
		if n.ID == s.id {
			break
		}
		if sr, err := s.headSlice(ctx, n, b, name); err == nil && sr != nil && sr.SameObject(rec) {
			return nil // an earlier holder asks
		}
	}
	u := sliceURL(owner, b, name) + "&repair=1"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set(headerLease, f.lease)
	req.Header.Set(headerToken, fmt.Sprint(f.token()))
	resp, err := s.reb.peer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.ReadError(resp)
	}
	return nil
}

// repairObject, on the owner, makes an object whole: its own copy (rebuilt from slices if
// missing or damaged) and every slice or replica at its place at view. encodeOnly (ec-encode)
// skips objects that already have their layout recorded. It returns the bytes sent.
func (s *Server) repairObject(ctx context.Context, view *api.View, b *meta.Bucket, name string, f *ecFence, encodeOnly bool) (int64, error) {
	obj, err := s.store.Open(b, name)
	if err == nil {
		if encodeOnly && obj.Meta.EC != nil {
			obj.Close()
			return 0, errEncoded
		}
		if !obj.Meta.EC.Sliced() {
			err = s.store.Verify(obj)
		}
		if err != nil {
			obj.Close()
			obj = nil
		}
	}
	if obj, err = s.restoreFromEC(ctx, b, name, obj, err); err != nil {
		return 0, err
	}
	rec := obj.Meta
	obj.Close()
	replicate := replicated(b, rec.Size)
	if rec.EC != nil {
		replicate = rec.EC.Replicated
	}
	peers, err := ecPeers(view, b, name, replicate)
	if err != nil {
		return 0, err
	}
	missing := map[int]bool{}
	for i, n := range peers {
		sr, err := s.headSlice(ctx, n, b, name)
		if err != nil {
			return 0, err
		}
		if sr == nil || sr.ObjVersion != rec.Version || sr.ObjMtime != rec.Mtime || sr.Index != sliceIndex(i, replicate) ||
			string(sr.ObjChecksum) != string(rec.Checksum) {
			missing[i] = true
		}
	}
	if len(missing) == 0 {
		s.dropMisplaced(ctx, view, b, name, peers)
		return 0, nil
	}
	if !rec.EC.Sliced() {
		if err := s.encodeStored(ctx, view, b, name, missing, f); err != nil {
			return 0, err
		}
	} else if err := s.rebuildSlices(ctx, view, b, rec, peers, missing, f); err != nil {
		return 0, err
	}
	s.dropMisplaced(ctx, view, b, name, peers) // only once every piece is at its place
	s.ec.repaired.Add(1)
	piece := rec.Size
	if !replicate {
		piece = codec.SliceSize(rec.Size, b.Props.EC.Data, codec.DefaultBlock)
		if rec.EC != nil {
			piece = codec.SliceSize(rec.Size, rec.EC.Data, rec.EC.Block)
		}
	}
	return int64(len(missing)) * piece, nil
}

func sliceIndex(i int, replicate bool) int {
	if replicate {
		return 0
	}
	return i
}

// rebuildSlices rebuilds the missing slices of an object kept only as slices and sends them
// to their places.
func (s *Server) rebuildSlices(ctx context.Context, view *api.View, b *meta.Bucket, rec *ObjectMeta, peers []meta.Node,
	missing map[int]bool, f *ecFence) error {
	group, usable := pickGroup(s.findSlices(ctx, view, b, rec.Name), rec)
	if !usable {
		return fmt.Errorf("target: repair %s: %w", rec.Name, meta.ErrTooFewSlices)
	}
	if rec.EC.Replicated {
		// Copy a surviving replica to each place that lacks one.
		for i := range peers {
			if !missing[i] {
				continue
			}
			src := group[0]
			rc, err := s.openPiece(ctx, b, src)
			if err != nil {
				return err
			}
			sm := *src.rec
			err = s.putSliceFrom(ctx, peers[i], b, &sm, rc, f, false)
			rc.Close()
			if err != nil {
				return err
			}
			s.ec.sentBytes.Add(sm.StoredSize())
		}
		return nil
	}
	k := rec.EC.Data + rec.EC.Parity
	have := map[int]bool{}
	for _, p := range group {
		have[p.rec.Index] = true
	}
	rebuild := make([]io.Writer, k)
	files := make([]*spoolFile, k)
	hashes := make([]hash.Hash, k)
	defer func() {
		for _, sf := range files {
			if sf != nil {
				sf.remove()
			}
		}
	}()
	need := false
	for i := 0; i < k; i++ {
		if have[i] {
			continue
		}
		sf, err := s.spool(b, rec.Name)
		if err != nil {
			return err
		}
		files[i] = sf
		hashes[i], _ = codec.NewHash(meta.ChecksumHighway)
		rebuild[i] = io.MultiWriter(sf.f, hashes[i])
		need = true
	}
	if need {
		if err := s.decodeTo(ctx, b, group, nil, rebuild); err != nil {
			return err
		}
	}
	// Send every missing index: rebuilt ones from the spool, misplaced ones from their holder.
	for i := range peers {
		if !missing[i] {
			continue
		}
		sm := sliceTemplate(b, rec, i, false)
		sm.Data, sm.Parity, sm.Block = rec.EC.Data, rec.EC.Parity, rec.EC.Block
		var body io.Reader
		if files[i] != nil {
			sm.SliceChecksum = hashes[i].Sum(nil)
			rf, err := files[i].reopen()
			if err != nil {
				return err
			}
			defer rf.Close()
			body = io.NewSectionReader(rf, 0, sm.StoredSize())
		} else {
			var src *slicePiece
			for j := range group {
				if group[j].rec.Index == i {
					src = &group[j]
				}
			}
			rc, err := s.openPiece(ctx, b, *src)
			if err != nil {
				return err
			}
			defer rc.Close()
			sm.SliceChecksum = src.rec.SliceChecksum
			body = rc
		}
		if err := s.putSliceFrom(ctx, peers[i], b, sm, body, f, false); err != nil {
			return err
		}
		s.ec.sentBytes.Add(sm.StoredSize())
	}
	return nil
}

// dropMisplaced removes the slices and replicas of an object that sit on targets other than
// its places at view (left behind by a change of the cluster map: rebalance moves objects,
// not slices).
func (s *Server) dropMisplaced(ctx context.Context, view *api.View, b *meta.Bucket, name string, peers []meta.Node) {
	keep := map[string]bool{}
	for _, n := range peers {
		keep[n.ID] = true
	}
	for _, n := range view.Snap.ActiveTargets() {
		if keep[n.ID] {
			continue
		}
		if n.ID == s.id {
			if found, _ := s.store.RemoveSlice(b, name); found {
				s.log.Info("EC: removed a misplaced slice", "object", name)
			}
			continue
		}
		if sr, err := s.headSlice(ctx, n, b, name); err == nil && sr != nil {
			if _, err := s.deleteSlice(ctx, n, b, name, nil); err != nil {
				s.log.Warn("EC: misplaced slice not removed", "object", name, "node", n.ID, "err", err)
			}
		}
	}
}
