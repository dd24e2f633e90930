package gateway

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// Multipart uploads: parts are stored on the object's owner as they arrive; Complete
// assembles them there (target/mpu.go).

// maxPartNumber is S3's largest part number.
const maxPartNumber = 10000

// s3CreateUpload is CreateMultipartUpload.
func (g *Gateway) s3CreateUpload(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodPost, bucket: b, key: sr.key,
		query: url.Values{"uploads": {""}}, header: clientHeaders(sr.r)})
	if err != nil {
		return err
	}
	var info api.UploadInfo
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%w: gateway: create upload: bad answer from target: %v", meta.ErrUnavailable, err)
	}
	if info.Checksum != "" {
		sr.w.Header().Set("x-amz-checksum-algorithm", strings.ToUpper(info.Checksum))
	}
	return writeXML(sr, http.StatusOK, initiateMultipartUploadResult{NS: s3NS, Bucket: b.Name, Key: sr.key, UploadID: info.UploadID})
}

// partNumber reads ?partNumber.
func partNumber(q url.Values) (int, error) {
	pn := q.Get("partNumber")
	n, err := strconv.Atoi(pn)
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, fmt.Errorf("%w: part number %q must be an integer between 1 and %d, inclusive", errS3InvalidArgument, pn, maxPartNumber)
	}
	if q.Get("uploadId") == "" {
		return 0, fmt.Errorf("%w: partNumber without uploadId", errS3InvalidArgument)
	}
	return n, nil
}

// s3UploadPart is UploadPart.
func (g *Gateway) s3UploadPart(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	n, err := partNumber(sr.query)
	if err != nil {
		return err
	}
	body, err := g.writeBody(sr)
	if err != nil {
		return err
	}
	q := url.Values{"uploadId": {sr.query.Get("uploadId")}, "partNumber": {strconv.Itoa(n)}}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodPut, bucket: b, key: sr.key, query: q,
		header: writeHeaders(sr, body), body: body, size: body.size})
	if err != nil {
		return err
	}
	resp.Body.Close()
	h := sr.w.Header()
	h.Set("ETag", resp.Header.Get("ETag"))
	for k, vs := range resp.Header {
		if strings.HasPrefix(k, "X-Amz-Checksum-") {
			h[strings.ToLower(k)] = vs
		}
	}
	return noContent(sr, http.StatusOK)
}

// s3UploadPartCopy is UploadPartCopy: a range of the source streams into a part.
func (g *Gateway) s3UploadPartCopy(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	n, err := partNumber(sr.query)
	if err != nil {
		return err
	}
	rng := sr.r.Header.Get("X-Amz-Copy-Source-Range")
	if rng != "" && !strings.HasPrefix(rng, "bytes=") {
		return fmt.Errorf("%w: x-amz-copy-source-range %q must be bytes=first-last", errS3InvalidArgument, rng)
	}
	src, err := g.openCopySource(sr, rng)
	if err != nil {
		return err
	}
	defer src.Body.Close()
	if rng != "" && src.StatusCode != http.StatusPartialContent {
		return fmt.Errorf("%w: x-amz-copy-source-range %q", meta.ErrRangeNotSatisfiable, rng)
	}
	q := url.Values{"uploadId": {sr.query.Get("uploadId")}, "partNumber": {strconv.Itoa(n)}}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodPut, bucket: b, key: sr.key, query: q,
		header: http.Header{}, raw: src.Body, size: src.ContentLength})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return writeXML(sr, http.StatusOK, copyPartResult{NS: s3NS, ETag: resp.Header.Get("ETag"), LastModified: s3Time(time.Now().UnixNano())})
}

// s3CompleteUpload is CompleteMultipartUpload. When the target takes longer than a few
// seconds, the gateway answers 200 at once and keeps the connection alive with spaces until
// the result (or an <Error> document) follows, as S3 does.
func (g *Gateway) s3CompleteUpload(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	raw, err := g.readXMLBody(sr)
	if err != nil {
		return err
	}
	var doc completeMultipartUpload
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%w: CompleteMultipartUpload: %v", errS3MalformedXML, err)
	}
	if len(doc.Parts) == 0 {
		return fmt.Errorf("%w: CompleteMultipartUpload lists no parts", errS3MalformedXML)
	}
	req := api.CompleteRequest{Parts: make([]api.CompletePart, len(doc.Parts))}
	for i, p := range doc.Parts {
		if p.PartNumber < 1 || p.PartNumber > maxPartNumber {
			return fmt.Errorf("%w: PartNumber %d", errS3InvalidArgument, p.PartNumber)
		}
		req.Parts[i] = api.CompletePart{Number: p.PartNumber, ETag: p.ETag}
	}
	body, _ := json.Marshal(req)
	h := http.Header{"Content-Type": {"application/json"}}
	for _, k := range []string{"If-Match", "If-None-Match"} {
		if v := sr.r.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	type outcome struct {
		res api.CompleteResult
		err error
	}
	done := make(chan outcome, 1)
	ctx := sr.r.Context()
	go func() {
		var o outcome
		resp, err := g.targetDo(ctx, sr, &targetCall{method: http.MethodPost, bucket: b, key: sr.key,
			query: url.Values{"uploadId": {sr.query.Get("uploadId")}}, header: h,
			raw: strings.NewReader(string(body)), size: int64(len(body))})
		if err != nil {
			o.err = err
		} else {
			err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&o.res)
			resp.Body.Close()
			if err != nil {
				o.err = fmt.Errorf("%w: gateway: complete upload: bad answer from target: %v", meta.ErrUnavailable, err)
			}
		}
		done <- o
	}()
	var o outcome
	started := false
	tick := time.NewTimer(3 * time.Second)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case o = <-done:
			waiting = false
		case <-tick.C:
			if !started {
				sr.w.Header().Set("Content-Type", "application/xml")
				sr.w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(sr.w, xml.Header)
				started = true
			}
			_, _ = io.WriteString(sr.w, " ")
			if f, ok := sr.w.(http.Flusher); ok {
				f.Flush()
			}
			tick.Reset(5 * time.Second)
		}
	}
	res := completeMultipartUploadResult{NS: s3NS, Location: "/" + b.Name + "/" + sr.key, Bucket: b.Name, Key: sr.key}
	if o.err == nil {
		res.ETag = `"` + o.res.ETag + `"`
		if c := o.res.Checksum; c != "" {
			setChecksumField(&res, c, sr)
		}
	}
	if !started {
		if o.err != nil {
			return o.err
		}
		return writeXML(sr, http.StatusOK, res)
	}
	var out []byte
	if o.err != nil {
		code, _, msg := s3Wire(o.err)
		out, _ = xml.Marshal(s3ErrorDoc{Code: code, Message: msg, Resource: sr.r.URL.Path, RequestID: sr.id, HostID: sr.hostID,
			BucketName: sr.bucket, Key: sr.key})
	} else {
		out, _ = xml.Marshal(res)
	}
	_, _ = sr.w.Write(out)
	return nil
}

// setChecksumField puts a composite checksum into the completion result under its algorithm,
// which the upload's parts carried (x-amz-checksum-algorithm of CreateMultipartUpload).
func setChecksumField(res *completeMultipartUploadResult, sum string, sr *s3Req) {
	res.ChecksumType = "COMPOSITE"
	switch alg := strings.ToLower(sr.r.Header.Get("x-amz-checksum-algorithm")); alg {
	case "crc32c":
		res.ChecksumCRC32C = sum
	case "crc64nvme":
		res.ChecksumCRC64NVME = sum
	case "sha1":
		res.ChecksumSHA1 = sum
	case "sha256":
		res.ChecksumSHA256 = sum
	default:
		res.ChecksumCRC32 = sum
	}
}

// s3AbortUpload is AbortMultipartUpload.
func (g *Gateway) s3AbortUpload(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodDelete, bucket: b, key: sr.key,
		query: url.Values{"uploadId": {sr.query.Get("uploadId")}}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return noContent(sr, http.StatusNoContent)
}

// s3ListParts is ListParts, with part-number-marker and max-parts.
func (g *Gateway) s3ListParts(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	q := sr.query
	maxParts, marker := 1000, 0
	if v := q.Get("max-parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			return fmt.Errorf("%w: max-parts %q", errS3InvalidArgument, v)
		}
		maxParts = min(maxParts, 1000)
	}
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return fmt.Errorf("%w: part-number-marker %q", errS3InvalidArgument, v)
		}
	}
	resp, err := g.targetDo(sr.r.Context(), sr, &targetCall{method: http.MethodGet, bucket: b, key: sr.key,
		query: url.Values{"uploadId": {q.Get("uploadId")}}})
	if err != nil {
		return err
	}
	var pl api.PartList
	err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&pl)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%w: gateway: list parts: bad answer from target: %v", meta.ErrUnavailable, err)
	}
	o := ownerOf(b.Owner)
	res := listPartsResult{NS: s3NS, Bucket: b.Name, Key: sr.key, UploadID: pl.Upload.UploadID, Initiator: o, Owner: o,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: maxParts,
		ChecksumAlgorithm: strings.ToUpper(pl.Upload.Checksum)}
	for _, p := range pl.Parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		xp := s3Part{PartNumber: p.Number, LastModified: s3Time(p.Mtime), ETag: `"` + p.ETag + `"`, Size: p.Size}
		switch pl.Upload.Checksum {
		case "crc32":
			xp.ChecksumCRC32 = p.Checksum
		case "crc32c":
			xp.ChecksumCRC32C = p.Checksum
		case "crc64nvme":
			xp.ChecksumCRC64NVME = p.Checksum
		case "sha1":
			xp.ChecksumSHA1 = p.Checksum
		case "sha256":
			xp.ChecksumSHA256 = p.Checksum
		}
		res.Parts = append(res.Parts, xp)
		res.NextPartNumberMarker = p.Number
	}
	return writeXML(sr, http.StatusOK, res)
}

// s3ListUploads is ListMultipartUploads: merged from every target's uploads of the bucket,
// sorted by key and initiation, with key-marker, upload-id-marker, max-uploads and delimiter.
func (g *Gateway) s3ListUploads(sr *s3Req) error {
	v, b, err := g.s3Bucket(sr, accWrite)
	if err != nil {
		return err
	}
	q := sr.query
	maxUploads := 1000
	if s := q.Get("max-uploads"); s != "" {
		if maxUploads, err = strconv.Atoi(s); err != nil || maxUploads < 0 {
			return fmt.Errorf("%w: max-uploads %q", errS3InvalidArgument, s)
		}
		maxUploads = min(maxUploads, 1000)
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	all, err := g.allUploads(sr.r.Context(), v, b, prefix)
	if err != nil {
		return err
	}
	enc := q.Get("encoding-type") == "url"
	res := listMultipartUploadsResult{NS: s3NS, Bucket: b.Name, KeyMarker: keyMarker, UploadIDMarker: idMarker,
		Prefix: s3Encode(prefix, enc), Delimiter: s3Encode(delim, enc), MaxUploads: maxUploads}
	if enc {
		res.EncodingType = "url"
	}
	o := ownerOf(b.Owner)
	lastCP := ""
	for _, u := range all {
		if keyMarker != "" {
			if u.Key < keyMarker || (u.Key == keyMarker && (idMarker == "" || u.UploadID <= idMarker)) {
				continue
			}
		}
		if delim != "" {
			if i := strings.Index(u.Key[len(prefix):], delim); i >= 0 {
				cp := u.Key[:len(prefix)+i+len(delim)]
				if cp == lastCP {
					continue
				}
				if len(res.Uploads)+len(res.CommonPrefixes) == maxUploads {
					res.IsTruncated = true
					break
				}
				lastCP = cp
				res.CommonPrefixes = append(res.CommonPrefixes, s3Prefix{Prefix: s3Encode(cp, enc)})
				res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
				continue
			}
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == maxUploads {
			res.IsTruncated = true
			break
		}
		res.Uploads = append(res.Uploads, s3Upload{Key: s3Encode(u.Key, enc), UploadID: u.UploadID, Initiator: o, Owner: o,
			StorageClass: "STANDARD", Initiated: s3Time(u.Initiated), ChecksumAlgorithm: strings.ToUpper(u.Checksum)})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return writeXML(sr, http.StatusOK, res)
}

// allUploads asks every target for its uploads of a bucket.
func (g *Gateway) allUploads(ctx context.Context, v *api.View, b meta.Bucket, prefix string) ([]api.UploadInfo, error) {
	targets := listTargets(v.Snap)
	lists := make([][]api.UploadInfo, len(targets))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(32)
	for i, t := range targets {
		eg.Go(func() error {
			u, err := url.Parse(t.ControlURL)
			if err != nil || u.Host == "" {
				return fmt.Errorf("%w: control URL %q of %s", meta.ErrUnavailable, t.ControlURL, t.ID)
			}
			u.Path = "/v1/internal/uploads/" + b.Name
			u.RawQuery = url.Values{"prefix": {prefix}}.Encode()
			req, err := http.NewRequestWithContext(ectx, http.MethodGet, u.String(), nil)
			if err != nil {
				return err
			}
			resp, err := g.hc.Do(req)
			if err != nil {
				return fmt.Errorf("%w: gateway: list uploads on %s: %v", meta.ErrUnavailable, t.ID, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode >= 300 {
				err := api.ReadError(resp)
				if meta.KindOf(err) == meta.KindNotExist {
					return nil
				}
				return fmt.Errorf("gateway: list uploads on %s: %w", t.ID, err)
			}
			var ul api.UploadList
			if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&ul); err != nil {
				return fmt.Errorf("%w: gateway: list uploads on %s: %v", meta.ErrUnavailable, t.ID, err)
			}
			lists[i] = ul.Uploads
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	var all []api.UploadInfo
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.SortFunc(all, func(x, y api.UploadInfo) int {
		if c := strings.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return strings.Compare(x.UploadID, y.UploadID)
	})
	return all, nil
}
