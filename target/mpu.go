package target

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Multipart uploads of the S3 API. An upload lives on the object's owner, on the object's
// mountpath, until it is completed, aborted or expires:
//
//	<mountpath>/.ais/mpu/<bucket>/<upload ID>/upload        JSON uploadRecord
//	<mountpath>/.ais/mpu/<bucket>/<upload ID>/part.NNNNN    a part's bytes; xattr user.ais.part
//
// Parts arrive in any order; a part sent again replaces the earlier one (last wins). Complete
// streams the parts once, in order, through the write protocol (Store.Put), which checksums
// the whole object in that pass, and then removes the upload.
const (
	mpuDir        = ".ais/mpu"
	xattrPart     = "user.ais.part"
	uploadFile    = "upload"
	maxParts      = 10000
	uploadIDBytes = 16
)

// MinPartSize is the smallest part but the last, as S3's.
const MinPartSize = 5 << 20

// uploadRecord is the persisted state of an upload.
//
// Versions: 1 (2026-11): the fields below.
type uploadRecord struct {
	V         int               `json:"v"`
	ID        string            `json:"id"`
	BucketID  uint64            `json:"bucket_id"`
	Name      string            `json:"name"`
	Initiated int64             `json:"initiated"`
	Custom    map[string]string `json:"custom,omitempty"`
	Checksum  string            `json:"checksum,omitempty"`
}

func (u *uploadRecord) info() api.UploadInfo {
	return api.UploadInfo{Key: u.Name, UploadID: u.ID, Initiated: u.Initiated, Checksum: u.Checksum}
}

// uploadLocks serialize the commit of parts, Complete and Abort of one upload (striped).
type uploadLocks [64]sync.Mutex

func (l *uploadLocks) of(id string) *sync.Mutex {
	return &l[xxhash.Sum64String(id)%uint64(len(l))]
}

func validUploadID(id string) bool {
	if len(id) != 2*uploadIDBytes {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// uploadDir is the directory of an upload: on the object's mountpath.
func (s *Store) uploadDir(b *meta.Bucket, name, id string) (mp, dir string, err error) {
	if !validUploadID(id) {
		return "", "", fmt.Errorf("%w: upload ID %q", meta.ErrUploadNotFound, id)
	}
	if err := meta.ValidateBucketName(b.Name); err != nil {
		return "", "", err
	}
	mp = meta.Mountpath(meta.ObjectKey(b.Key(), name), s.mountpaths())
	return mp, mp + "/" + mpuDir + "/" + b.Name + "/" + id, nil
}

// CreateUpload starts a multipart upload of name with the S3 attributes in custom and an
// optional S3 checksum algorithm.
func (s *Store) CreateUpload(b *meta.Bucket, name string, custom map[string]string, checksum string) (*api.UploadInfo, error) {
	fail := func(err error) (*api.UploadInfo, error) {
		return nil, fmt.Errorf("target: create upload of %s/%s: %w", b.Key(), name, err)
	}
	if err := meta.ValidateObjectName(name); err != nil {
		return fail(err)
	}
	id := randomHex(uploadIDBytes)
	mp, dir, err := s.uploadDir(b, name, id)
	if err != nil {
		return fail(err)
	}
	rec := uploadRecord{V: 1, ID: id, BucketID: b.ID, Name: name, Initiated: s.now().UnixNano(), Custom: custom, Checksum: checksum}
	if err := s.fs.MkdirAll(dir); err != nil {
		return fail(err)
	}
	if err := s.writeUploadRecord(mp, dir, &rec, b.Props.Write.Fsync); err != nil {
		_ = s.fs.RemoveAll(dir)
		return fail(err)
	}
	info := rec.info()
	return &info, nil
}

// writeUploadRecord writes an upload's record into its (existing) directory atomically: the
// record's presence is the upload's existence.
func (s *Store) writeUploadRecord(mp, dir string, rec *uploadRecord, fsync bool) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	work := mp + "/" + workDir + "/" + randomHex(12)
	f, err := s.fs.Create(work)
	if err != nil {
		return err
	}
	_, err = f.Write(raw)
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(work, dir+"/"+uploadFile)
	}
	if err != nil {
		_ = s.fs.Remove(work)
	}
	return err
}

// readUpload reads an upload's record; a missing or foreign one is meta.ErrUploadNotFound.
func (s *Store) readUpload(b *meta.Bucket, name, id string) (*uploadRecord, string, string, error) {
	mp, dir, err := s.uploadDir(b, name, id)
	if err != nil {
		return nil, "", "", err
	}
	rec, err := s.readUploadFile(dir)
	if errors.Is(err, meta.ErrUploadNotFound) {
		// After a change of mountpaths the upload may sit on another one: it is used there.
		rel := dir[len(mp):]
		for _, other := range s.walkMountpaths() {
			if other == mp {
				continue
			}
			if r, oerr := s.readUploadFile(other + rel); oerr == nil {
				rec, mp, dir, err = r, other, other+rel, nil
				break
			}
		}
	}
	if err != nil {
		return nil, "", "", err
	}
	if rec.BucketID != b.ID || rec.Name != name {
		return nil, "", "", fmt.Errorf("%w: upload %s is not one of %s/%s", meta.ErrUploadNotFound, id, b.Key(), name)
	}
	return rec, mp, dir, nil
}

func (s *Store) readUploadFile(dir string) (*uploadRecord, error) {
	f, err := s.fs.Open(dir + "/" + uploadFile)
	if err != nil {
		if notFoundErr(err) {
			return nil, fmt.Errorf("%w: %s", meta.ErrUploadNotFound, dir[strings.LastIndexByte(dir, '/')+1:])
		}
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, err
	}
	var rec uploadRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.V != 1 {
		return nil, fmt.Errorf("%w: upload record %s: %v", meta.ErrCorrupt, dir, err)
	}
	return &rec, nil
}

// PartArgs describe one part written.
type PartArgs struct {
	Bucket   *meta.Bucket
	Name     string
	UploadID string
	Number   int
	Body     io.Reader
	Size     int64
	Sums     *s3Sums
}

// PutPart stores one part: the body streams to a work file while MD5 (the part's ETag) and
// the optional S3 checksum are computed; then it is renamed over any earlier part of the same
// number.
func (s *Store) PutPart(ctx context.Context, a PartArgs) (*api.PartInfo, error) {
	b := a.Bucket
	fail := func(err error) (*api.PartInfo, error) {
		return nil, fmt.Errorf("target: upload %s part %d of %s/%s: %w", a.UploadID, a.Number, b.Key(), a.Name, err)
	}
	if a.Number < 1 || a.Number > maxParts {
		return fail(fmt.Errorf("%w: part number %d must be 1 to %d", meta.ErrInvalidRequest, a.Number, maxParts))
	}
	rec, mp, dir, err := s.readUpload(b, a.Name, a.UploadID)
	if err != nil {
		return fail(err)
	}
	if a.Sums.sum == nil && rec.Checksum != "" {
		a.Sums.sum = s3ChecksumOf(rec.Checksum)
		a.Sums.sumHash = a.Sums.sum.new()
	}
	wf, err := s.createWork(mp)
	if err != nil {
		return fail(err)
	}
	defer wf.discard()
	f, work := wf.File, wf.path
	n, err := s.copyBody(ctx, f, a.Body, a.Sums.hashes())
	if err != nil {
		return fail(err)
	}
	if a.Size >= 0 && n != a.Size {
		return fail(fmt.Errorf("%w: got %d of %d bytes", meta.ErrIncompleteBody, n, a.Size))
	}
	sum, err := a.Sums.finish(&ObjectMeta{})
	if err != nil {
		return fail(err)
	}
	p := api.PartInfo{Number: a.Number, Size: n, ETag: hex.EncodeToString(sum), Checksum: a.Sums.sumValue,
		Mtime: s.now().UnixNano()}
	raw, _ := json.Marshal(p)
	if err := f.SetXattr(xattrPart, raw); err != nil {
		return fail(err)
	}
	if b.Props.Write.Fsync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	mu := s.uploads.of(a.UploadID)
	mu.Lock()
	err = func() error {
		if _, err := s.fs.Stat(dir + "/" + uploadFile); err != nil {
			if notFoundErr(err) {
				return fmt.Errorf("%w: aborted or completed meanwhile", meta.ErrUploadNotFound)
			}
			return err
		}
		return s.fs.Rename(work, partPath(dir, a.Number))
	}()
	mu.Unlock()
	if err != nil {
		return fail(err)
	}
	wf.kept = true
	_ = f.Close()
	return &p, nil
}

func partPath(dir string, n int) string { return fmt.Sprintf("%s/part.%05d", dir, n) }

// ListParts returns an upload and its stored parts by number.
func (s *Store) ListParts(b *meta.Bucket, name, id string) (*api.PartList, error) {
	rec, _, dir, err := s.readUpload(b, name, id)
	if err != nil {
		return nil, fmt.Errorf("target: list parts of %s/%s: %w", b.Key(), name, err)
	}
	parts, err := s.readParts(dir)
	if err != nil {
		return nil, fmt.Errorf("target: list parts of %s/%s: %w", b.Key(), name, err)
	}
	return &api.PartList{Upload: rec.info(), Parts: parts}, nil
}

func (s *Store) readParts(dir string) ([]api.PartInfo, error) {
	ents, err := s.fs.ReadDir(dir)
	if err != nil {
		if notFoundErr(err) {
			return nil, meta.ErrUploadNotFound
		}
		return nil, err
	}
	var parts []api.PartInfo
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "part.")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, err := strconv.Atoi(num); err != nil {
			continue
		}
		raw, err := s.fs.GetXattr(dir+"/"+e.Name(), xattrPart)
		if err != nil {
			continue // replaced or removed meanwhile
		}
		var p api.PartInfo
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(x, y api.PartInfo) int { return x.Number - y.Number })
	return parts, nil
}

// AbortUpload removes an upload and its parts.
func (s *Store) AbortUpload(b *meta.Bucket, name, id string) error {
	_, mp, dir, err := s.readUpload(b, name, id)
	if err != nil {
		return fmt.Errorf("target: abort upload of %s/%s: %w", b.Key(), name, err)
	}
	mu := s.uploads.of(id)
	mu.Lock()
	err = s.removeUpload(mp, dir)
	mu.Unlock()
	return err
}

// removeUpload renames an upload's directory into the trash (so it disappears at once) and
// deletes it.
func (s *Store) removeUpload(mp, dir string) error {
	trash := mp + "/" + trashDir + "/mpu." + randomHex(8)
	if err := s.fs.Rename(dir, trash); err != nil {
		if notFoundErr(err) {
			return meta.ErrUploadNotFound
		}
		return err
	}
	return s.fs.RemoveAll(trash)
}

// CompleteArgs describe the completion of an upload.
type CompleteArgs struct {
	Bucket   *meta.Bucket
	Epoch    uint64
	Name     string
	UploadID string
	Parts    []api.CompletePart
	Guard    func(cur *ObjectMeta) error
}

// CompleteUpload assembles the listed parts into the object: it checks the list (ascending
// numbers, stored parts with matching ETags, every part but the last at least MinPartSize),
// streams the parts once through Store.Put and removes the upload.
func (s *Store) CompleteUpload(ctx context.Context, a CompleteArgs) (*ObjectMeta, *api.CompleteResult, error) {
	b := a.Bucket
	fail := func(err error) (*ObjectMeta, *api.CompleteResult, error) {
		return nil, nil, fmt.Errorf("target: complete upload %s of %s/%s: %w", a.UploadID, b.Key(), a.Name, err)
	}
	mu := s.uploads.of(a.UploadID)
	mu.Lock()
	defer mu.Unlock()
	rec, mp, dir, err := s.readUpload(b, a.Name, a.UploadID)
	if err != nil {
		return fail(err)
	}
	stored, err := s.readParts(dir)
	if err != nil {
		return fail(err)
	}
	if len(a.Parts) == 0 || len(a.Parts) > maxParts {
		return fail(fmt.Errorf("%w: a completion lists 1 to %d parts", meta.ErrInvalidPart, maxParts))
	}
	byNum := make(map[int]api.PartInfo, len(stored))
	for _, p := range stored {
		byNum[p.Number] = p
	}
	use := make([]api.PartInfo, len(a.Parts))
	etags := md5.New()
	var sumAlg *s3Checksum
	if rec.Checksum != "" {
		sumAlg = s3ChecksumOf(rec.Checksum)
	}
	var sumParts [][]byte
	var total int64
	for i, cp := range a.Parts {
		if i > 0 && cp.Number <= a.Parts[i-1].Number {
			return fail(fmt.Errorf("%w: part %d after part %d", meta.ErrInvalidPartOrder, cp.Number, a.Parts[i-1].Number))
		}
	}
	for i, cp := range a.Parts {
		p, ok := byNum[cp.Number]
		if !ok {
			return fail(fmt.Errorf("%w: part %d was not uploaded", meta.ErrInvalidPart, cp.Number))
		}
		if want := strings.ToLower(strings.Trim(cp.ETag, `" `)); want != p.ETag {
			return fail(fmt.Errorf("%w: part %d has ETag \"%s\", not %s", meta.ErrInvalidPart, cp.Number, p.ETag, cp.ETag))
		}
		raw, _ := hex.DecodeString(p.ETag)
		etags.Write(raw)
		if sumAlg != nil {
			v, err := base64.StdEncoding.DecodeString(p.Checksum)
			if err != nil || p.Checksum == "" {
				sumAlg = nil
			} else {
				sumParts = append(sumParts, v)
			}
		}
		use[i] = p
		total += p.Size
	}
	for i, p := range use[:len(use)-1] {
		if p.Size < MinPartSize {
			return fail(fmt.Errorf("%w: part %d is %d bytes; every part but the last must be at least %d",
				meta.ErrEntityTooSmall, a.Parts[i].Number, p.Size, MinPartSize))
		}
	}
	res := &api.CompleteResult{ETag: fmt.Sprintf("%x-%d", etags.Sum(nil), len(use)), Size: total}
	custom := make(map[string]string, len(rec.Custom)+3)
	for k, v := range rec.Custom {
		custom[k] = v
	}
	custom[customETag] = res.ETag
	sizes := make([]int64, len(use))
	for i, p := range use {
		sizes[i] = p.Size
	}
	if enc := partsEncode(sizes, 512); enc != "" {
		custom[customParts] = enc
	}
	if sumAlg != nil {
		h := sumAlg.new()
		for _, v := range sumParts {
			h.Write(v)
		}
		res.Checksum = fmt.Sprintf("%s-%d", b64(h.Sum(nil)), len(use))
		custom[customSum+sumAlg.name] = res.Checksum
	}
	body := &partsReader{s: s, dir: dir, parts: use}
	defer body.close()
	m, err := s.Put(ctx, PutArgs{Bucket: b, Epoch: a.Epoch, Name: a.Name, Body: body, Size: total,
		Custom: custom, Guard: a.Guard})
	if err != nil {
		return fail(err)
	}
	body.close()
	if err := s.removeUpload(mp, dir); err != nil && !errors.Is(err, meta.ErrUploadNotFound) {
		s.log.Warn("remove completed upload", "dir", dir, "err", err)
	}
	return m, res, nil
}

// partsReader reads the parts of an upload one after the other, opening each when it is
// reached; a part replaced since the list was checked is meta.ErrInvalidPart.
type partsReader struct {
	s     *Store
	dir   string
	parts []api.PartInfo
	i     int
	cur   File
	left  int64
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if r.i == len(r.parts) {
				return 0, io.EOF
			}
			part := r.parts[r.i]
			f, err := r.s.fs.Open(partPath(r.dir, part.Number))
			if err != nil {
				return 0, fmt.Errorf("%w: part %d: %v", meta.ErrInvalidPart, part.Number, err)
			}
			raw, err := f.GetXattr(xattrPart)
			var got api.PartInfo
			if err != nil || json.Unmarshal(raw, &got) != nil || got.ETag != part.ETag || got.Size != part.Size {
				_ = f.Close()
				return 0, fmt.Errorf("%w: part %d changed during completion", meta.ErrInvalidPart, part.Number)
			}
			r.cur, r.left = f, part.Size
		}
		if r.left == 0 {
			_ = r.cur.Close()
			r.cur = nil
			r.i++
			continue
		}
		if int64(len(p)) > r.left {
			p = p[:r.left]
		}
		n, err := r.cur.Read(p)
		r.left -= int64(n)
		if err == io.EOF {
			if r.left > 0 {
				return n, fmt.Errorf("%w: part %d is shorter than recorded", meta.ErrCorrupt, r.parts[r.i].Number)
			}
			err = nil
		}
		return n, err
	}
}

func (r *partsReader) close() {
	if r.cur != nil {
		_ = r.cur.Close()
		r.cur = nil
	}
}

// ListUploads returns this target's uploads of a bucket whose keys have the prefix, sorted by
// key, then initiation.
func (s *Store) ListUploads(b *meta.Bucket, prefix string) ([]api.UploadInfo, error) {
	var out []api.UploadInfo
	for _, mp := range s.walkMountpaths() {
		root := mp + "/" + mpuDir + "/" + b.Name
		ents, err := s.fs.ReadDir(root)
		if err != nil {
			if notFoundErr(err) {
				continue
			}
			return nil, fmt.Errorf("target: list uploads of %s: %w", b.Key(), err)
		}
		for _, e := range ents {
			if !e.IsDir() || !validUploadID(e.Name()) {
				continue
			}
			rec, err := s.readUploadFile(root + "/" + e.Name())
			if err != nil || rec.BucketID != b.ID || !strings.HasPrefix(rec.Name, prefix) {
				continue
			}
			out = append(out, rec.info())
		}
	}
	slices.SortFunc(out, func(x, y api.UploadInfo) int {
		if c := strings.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return int(min(max(x.Initiated-y.Initiated, -1), 1))
	})
	return out, nil
}

// SweepUploads removes uploads older than expiry and those of buckets the snapshot no longer
// has (or has under another ID). It returns how many it removed.
func (s *Store) SweepUploads(snap *meta.Snapshot, expiry time.Duration) (int, error) {
	now := s.now()
	removed := 0
	var errs []error
	for _, mp := range s.walkMountpaths() {
		root := mp + "/" + mpuDir
		buckets, err := s.fs.ReadDir(root)
		if err != nil {
			if !notFoundErr(err) {
				errs = append(errs, err)
			}
			continue
		}
		for _, be := range buckets {
			if !be.IsDir() {
				continue
			}
			b, exists := snap.Bucket(meta.ProviderAIS, be.Name())
			ups, err := s.fs.ReadDir(root + "/" + be.Name())
			if err != nil {
				continue
			}
			for _, ue := range ups {
				dir := root + "/" + be.Name() + "/" + ue.Name()
				stale := false
				if rec, err := s.readUploadFile(dir); err == nil {
					stale = now.Sub(time.Unix(0, rec.Initiated)) > expiry || (snap.Epoch > 0 && (!exists || b.ID != rec.BucketID))
				} else if fi, serr := s.fs.Stat(dir); serr == nil {
					stale = now.Sub(fi.ModTime()) > expiry // never finished being created
				}
				if !stale {
					continue
				}
				if err := s.removeUpload(mp, dir); err != nil && !errors.Is(err, meta.ErrUploadNotFound) {
					errs = append(errs, err)
					continue
				}
				removed++
			}
			if len(ups) == 0 || removed > 0 {
				_ = s.fs.Remove(root + "/" + be.Name()) // only if empty
			}
		}
	}
	return removed, errors.Join(errs...)
}
