package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/tests/cluster"
)

// TestS3 runs the S3 API's operations with aws-sdk-go-v2 (and raw signed requests where the
// SDK would not send what a case needs) against a cluster of 3 targets: docs/s3.md.
func TestS3(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	e := newS3Env(t, cluster.Spec{Meta: 1, Targets: 3, Mountpaths: 2, Gateways: 1,
		GatewayArgs: []string{"--s3-domain", "localhost"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Run("buckets", func(t *testing.T) { testS3Buckets(ctx, t, e) })
	t.Run("objects", func(t *testing.T) { testS3Objects(ctx, t, e) })
	t.Run("conditions", func(t *testing.T) { testS3Conditions(ctx, t, e) })
	t.Run("checksums", func(t *testing.T) { testS3Checksums(ctx, t, e) })
	t.Run("copy", func(t *testing.T) { testS3Copy(ctx, t, e) })
	t.Run("list", func(t *testing.T) { testS3List(ctx, t, e) })
	t.Run("multipart", func(t *testing.T) { testS3Multipart(ctx, t, e) })
	t.Run("multipart-errors", func(t *testing.T) { testS3MultipartErrors(ctx, t, e) })
	t.Run("presigned", func(t *testing.T) { testS3Presigned(ctx, t, e) })
	t.Run("chunked", func(t *testing.T) { testS3Chunked(ctx, t, e) })
	t.Run("bad-input", func(t *testing.T) { testS3BadInput(ctx, t, e) })
	t.Run("access", func(t *testing.T) { testS3Access(ctx, t, e) })
	t.Run("virtual-host", func(t *testing.T) { testS3VirtualHost(ctx, t, e) })
	t.Run("redirect", func(t *testing.T) { testS3Redirect(ctx, t, e) })
	t.Run("cli-keys", func(t *testing.T) { testS3CLIKeys(ctx, t, e) })
	t.Run("metrics", func(t *testing.T) { testS3Metrics(ctx, t, e) })
}

func mkBucket(ctx context.Context, t *testing.T, cl *s3.Client, name string) {
	t.Helper()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

func put(ctx context.Context, t *testing.T, cl *s3.Client, bucket, key string, data []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

func get(ctx context.Context, t *testing.T, cl *s3.Client, in *s3.GetObjectInput) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := cl.GetObject(ctx, in)
	if err != nil {
		t.Fatalf("get %s/%s: %v", aws.ToString(in.Bucket), aws.ToString(in.Key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

// gone checks that an object does not exist.
func gone(ctx context.Context, t *testing.T, cl *s3.Client, bucket, key string) {
	t.Helper()
	_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	wantS3Err(t, "object "+key+" left behind", err, "NoSuchKey", 404)
}

func testS3Buckets(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "bkt-one")
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt-one")}); err != nil {
		t.Fatal(err)
	}
	_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt-one")})
	wantS3Err(t, "create again", err, "BucketAlreadyOwnedByYou", 409)
	_, err = e.altCl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt-one")})
	wantS3Err(t, "create another user's", err, "BucketAlreadyExists", 409)
	lb, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
		if b.CreationDate == nil || b.CreationDate.IsZero() {
			t.Fatalf("bucket %s without creation date", aws.ToString(b.Name))
		}
	}
	if !slices.Contains(names, "bkt-one") || aws.ToString(lb.Owner.ID) != "alice" {
		t.Fatalf("ListBuckets: %v, owner %v", names, aws.ToString(lb.Owner.ID))
	}
	lb2, err := e.altCl.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range lb2.Buckets {
		if aws.ToString(b.Name) == "bkt-one" {
			t.Fatal("bob's ListBuckets shows alice's bucket")
		}
	}
	loc, err := cl.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("bkt-one")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("location %q, %v", loc.LocationConstraint, err)
	}
	// Versioning: the status only.
	v, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt-one")})
	if err != nil || v.Status != "" {
		t.Fatalf("versioning of a new bucket: %q, %v", v.Status, err)
	}
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("bkt-one"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if v, err = cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt-one")}); err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning after enabling: %q, %v", v.Status, err)
	}
	// Not empty, then empty.
	put(ctx, t, cl, "bkt-one", "x", []byte("x"))
	_, err = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bkt-one")})
	wantS3Err(t, "delete non-empty", err, "BucketNotEmpty", 409)
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt-one"), Key: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bkt-one")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt-one")})
	wantS3Err(t, "head deleted bucket", err, "NotFound", 404)
	_, err = cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt-one")})
	wantS3Err(t, "list deleted bucket", err, "NoSuchBucket", 404)
	_, err = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bkt-one")})
	wantS3Err(t, "delete deleted bucket", err, "NoSuchBucket", 404)
	// Names S3 refuses.
	for _, name := range []string{"ab", strings.Repeat("a", 64), "Upper", "-dash", "dash-", "a..b", "under_score", "192.168.1.1", "xn--punycode", "a.-b"} {
		_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		wantS3Err(t, "bucket name "+name, err, "InvalidBucketName", 400)
	}
}

func testS3Objects(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "objs")
	data := randBytes(1, 300_001)
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	pout, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/ob j+é.bin"),
		Body: bytes.NewReader(data), ContentType: aws.String("application/x-test"), ContentEncoding: aws.String("identity"),
		ContentDisposition: aws.String(`attachment; filename="a.bin"`), CacheControl: aws.String("max-age=60"),
		ContentLanguage: aws.String("en"), Expires: aws.Time(exp),
		Metadata: map[string]string{"color": "blue", "Mixed-Case": "Value  With Spaces"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"` + md5hex(data) + `"`; aws.ToString(pout.ETag) != want {
		t.Fatalf("PUT ETag %s, want the MD5 %s", aws.ToString(pout.ETag), want)
	}
	got, gout := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/ob j+é.bin")})
	if !bytes.Equal(got, data) {
		t.Fatal("GET returned other bytes")
	}
	checks := map[string][2]string{
		"ETag":                {aws.ToString(gout.ETag), `"` + md5hex(data) + `"`},
		"Content-Type":        {aws.ToString(gout.ContentType), "application/x-test"},
		"Content-Encoding":    {aws.ToString(gout.ContentEncoding), "identity"},
		"Content-Disposition": {aws.ToString(gout.ContentDisposition), `attachment; filename="a.bin"`},
		"Cache-Control":       {aws.ToString(gout.CacheControl), "max-age=60"},
		"Content-Language":    {aws.ToString(gout.ContentLanguage), "en"},
		"meta color":          {gout.Metadata["color"], "blue"},
		"meta mixed-case":     {gout.Metadata["mixed-case"], "Value  With Spaces"},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: %q, want %q", what, c[0], c[1])
		}
	}
	if gout.ExpiresString == nil || !strings.Contains(*gout.ExpiresString, "2031") {
		t.Errorf("Expires %v", gout.ExpiresString)
	}
	if aws.ToInt64(gout.ContentLength) != int64(len(data)) || gout.LastModified == nil {
		t.Errorf("length %d, last modified %v", aws.ToInt64(gout.ContentLength), gout.LastModified)
	}
	hout, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/ob j+é.bin")})
	if err != nil || aws.ToInt64(hout.ContentLength) != int64(len(data)) || hout.Metadata["color"] != "blue" {
		t.Fatalf("HEAD: %+v, %v", hout, err)
	}
	// Ranges.
	for _, rc := range []struct {
		rng      string
		from, to int
	}{{"bytes=0-9", 0, 10}, {"bytes=100-", 100, len(data)}, {"bytes=-5", len(data) - 5, len(data)}, {"bytes=300000-999999", 300000, len(data)}} {
		part, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/ob j+é.bin"), Range: aws.String(rc.rng)})
		if !bytes.Equal(part, data[rc.from:rc.to]) || aws.ToString(out.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", rc.from, rc.to-1, len(data)) {
			t.Errorf("range %s: %d bytes, Content-Range %s", rc.rng, len(part), aws.ToString(out.ContentRange))
		}
	}
	_, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/ob j+é.bin"), Range: aws.String("bytes=400000-")})
	wantS3Err(t, "range past the end", err, "InvalidRange", 416)
	// response-* overrides.
	_, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/ob j+é.bin"),
		ResponseContentType: aws.String("text/plain"), ResponseContentDisposition: aws.String("inline"),
		ResponseCacheControl: aws.String("no-cache"), ResponseContentLanguage: aws.String("de"),
		ResponseContentEncoding: aws.String("gzip"), ResponseExpires: aws.Time(exp.Add(time.Hour))})
	if aws.ToString(out.ContentType) != "text/plain" || aws.ToString(out.ContentDisposition) != "inline" ||
		aws.ToString(out.CacheControl) != "no-cache" || aws.ToString(out.ContentLanguage) != "de" || aws.ToString(out.ContentEncoding) != "gzip" {
		t.Errorf("overrides: type %q disposition %q cache %q language %q encoding %q", aws.ToString(out.ContentType),
			aws.ToString(out.ContentDisposition), aws.ToString(out.CacheControl), aws.ToString(out.ContentLanguage), aws.ToString(out.ContentEncoding))
	}
	// Empty object; overwrite; delete (also of a missing key).
	put(ctx, t, cl, "objs", "empty", nil)
	if got, _ := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("empty")}); len(got) != 0 {
		t.Fatalf("empty object has %d bytes", len(got))
	}
	put(ctx, t, cl, "objs", "empty", []byte("now full"))
	if got, _ := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("empty")}); string(got) != "now full" {
		t.Fatalf("overwritten object: %q", got)
	}
	for _, k := range []string{"empty", "empty", "never-was"} {
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objs"), Key: aws.String(k)}); err != nil {
			t.Fatalf("delete %s: %v", k, err)
		}
	}
	gone(ctx, t, cl, "objs", "empty")
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objs"), Key: aws.String("empty")})
	wantS3Err(t, "head missing", err, "NotFound", 404)
	// "a" and "a/b" both exist, whichever comes first (target/dirobj.go).
	for _, k := range []string{"nest", "nest/child", "deep/x/y", "deep/x"} {
		put(ctx, t, cl, "objs", k, []byte("value of "+k))
	}
	for _, k := range []string{"nest", "nest/child", "deep/x/y", "deep/x"} {
		if got, _ := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String(k)}); string(got) != "value of "+k {
			t.Fatalf("%s: %q", k, got)
		}
	}
	lo, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("objs"), Prefix: aws.String("nest")})
	if err != nil || len(lo.Contents) != 2 {
		t.Fatalf("listing of nest and nest/child: %+v, %v", lo.Contents, err)
	}
	for _, k := range []string{"nest", "nest/child", "deep/x/y", "deep/x"} {
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objs"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
		gone(ctx, t, cl, "objs", k)
	}
	// User metadata over 2 KB.
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("objs"), Key: aws.String("big-meta"), Body: strings.NewReader("x"),
		Metadata: map[string]string{"a": strings.Repeat("v", 2100)}})
	wantS3Err(t, "2 KB of metadata", err, "MetadataTooLarge", 400)
	gone(ctx, t, cl, "objs", "big-meta")
	// DeleteObjects, quiet and not.
	for i := range 5 {
		put(ctx, t, cl, "objs", fmt.Sprintf("del/%d", i), []byte{byte(i)})
	}
	dout, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("objs"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("del/0")}, {Key: aws.String("del/1")}, {Key: aws.String("del/missing")}}}})
	if err != nil || len(dout.Deleted) != 3 || len(dout.Errors) != 0 {
		t.Fatalf("DeleteObjects: %+v, %v", dout, err)
	}
	dout, err = cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("objs"), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("del/2")}, {Key: aws.String("del/3")}, {Key: aws.String("del/4")}}}})
	if err != nil || len(dout.Deleted) != 0 || len(dout.Errors) != 0 {
		t.Fatalf("quiet DeleteObjects: %+v, %v", dout, err)
	}
	for i := range 5 {
		gone(ctx, t, cl, "objs", fmt.Sprintf("del/%d", i))
	}
}

func testS3Conditions(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "conds")
	pout := put(ctx, t, cl, "conds", "k", []byte("version one"))
	etag := aws.ToString(pout.ETag)
	h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("conds"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	lm := *h.LastModified
	k := func(in *s3.GetObjectInput) *s3.GetObjectInput {
		in.Bucket, in.Key = aws.String("conds"), aws.String("k")
		return in
	}
	for _, ok := range []*s3.GetObjectInput{
		k(&s3.GetObjectInput{IfMatch: aws.String(etag)}),
		k(&s3.GetObjectInput{IfMatch: aws.String("*")}),
		k(&s3.GetObjectInput{IfNoneMatch: aws.String(`"0123"`)}),
		k(&s3.GetObjectInput{IfModifiedSince: aws.Time(lm.Add(-time.Hour))}),
		k(&s3.GetObjectInput{IfUnmodifiedSince: aws.Time(lm.Add(time.Hour))}),
		// If-Match true wins over If-Unmodified-Since false.
		k(&s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: aws.Time(lm.Add(-time.Hour))}),
	} {
		if got, _ := get(ctx, t, cl, ok); string(got) != "version one" {
			t.Fatalf("conditional GET: %q", got)
		}
	}
	_, err = cl.GetObject(ctx, k(&s3.GetObjectInput{IfMatch: aws.String(`"0123"`)}))
	wantS3Err(t, "If-Match other", err, "PreconditionFailed", 412)
	_, err = cl.GetObject(ctx, k(&s3.GetObjectInput{IfUnmodifiedSince: aws.Time(lm.Add(-time.Hour))}))
	wantS3Err(t, "If-Unmodified-Since before", err, "PreconditionFailed", 412)
	for _, nm := range []*s3.GetObjectInput{
		k(&s3.GetObjectInput{IfNoneMatch: aws.String(etag)}),
		k(&s3.GetObjectInput{IfModifiedSince: aws.Time(lm.Add(time.Hour))}),
		// If-None-Match false wins over If-Modified-Since true.
		k(&s3.GetObjectInput{IfNoneMatch: aws.String(etag), IfModifiedSince: aws.Time(lm.Add(-time.Hour))}),
	} {
		_, err := cl.GetObject(ctx, nm)
		wantS3Err(t, "not modified", err, "NotModified", 304)
	}
	// Conditional PUT.
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conds"), Key: aws.String("k"), Body: strings.NewReader("two"), IfNoneMatch: aws.String("*")})
	wantS3Err(t, "If-None-Match: * on an existing key", err, "PreconditionFailed", 412)
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conds"), Key: aws.String("k"), Body: strings.NewReader("two"), IfMatch: aws.String(`"0123"`)})
	wantS3Err(t, "If-Match other on PUT", err, "PreconditionFailed", 412)
	if got, _ := get(ctx, t, cl, k(&s3.GetObjectInput{})); string(got) != "version one" {
		t.Fatalf("a failed conditional PUT changed the object: %q", got)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conds"), Key: aws.String("k"), Body: strings.NewReader("two"), IfMatch: aws.String(etag)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conds"), Key: aws.String("new"), Body: strings.NewReader("n"), IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conds"), Key: aws.String("absent"), Body: strings.NewReader("n"), IfMatch: aws.String(etag)})
	wantS3Err(t, "If-Match on a missing key", err, "NoSuchKey", 404)
}

func testS3Checksums(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "sums")
	data := randBytes(2, 100_000)
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		key := "sum-" + string(alg)
		pout, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String(key), Body: bytes.NewReader(data), ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		sent := map[types.ChecksumAlgorithm]*string{types.ChecksumAlgorithmCrc32: pout.ChecksumCRC32, types.ChecksumAlgorithmCrc32c: pout.ChecksumCRC32C,
			types.ChecksumAlgorithmSha1: pout.ChecksumSHA1, types.ChecksumAlgorithmSha256: pout.ChecksumSHA256, types.ChecksumAlgorithmCrc64nvme: pout.ChecksumCRC64NVME}[alg]
		if aws.ToString(sent) == "" {
			t.Fatalf("%s: PUT answer has no checksum", alg)
		}
		_, gout := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("sums"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		back := map[types.ChecksumAlgorithm]*string{types.ChecksumAlgorithmCrc32: gout.ChecksumCRC32, types.ChecksumAlgorithmCrc32c: gout.ChecksumCRC32C,
			types.ChecksumAlgorithmSha1: gout.ChecksumSHA1, types.ChecksumAlgorithmSha256: gout.ChecksumSHA256, types.ChecksumAlgorithmCrc64nvme: gout.ChecksumCRC64NVME}[alg]
		if aws.ToString(back) != aws.ToString(sent) {
			t.Fatalf("%s: GET checksum %q, PUT %q", alg, aws.ToString(back), aws.ToString(sent))
		}
	}
	// A wrong checksum or Content-MD5 is BadDigest and stores nothing.
	bad := []struct {
		name string
		hdr  http.Header
		code string
	}{
		{"crc32", http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}}, "BadDigest"},
		{"sha256", http.Header{"X-Amz-Checksum-Sha256": {base64.StdEncoding.EncodeToString(make([]byte, 32))}}, "BadDigest"},
		{"content-md5", http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(make([]byte, 16))}}, "BadDigest"},
		{"malformed content-md5", http.Header{"Content-Md5": {"not-base64!"}}, "InvalidDigest"},
	}
	for _, b := range bad {
		req := e.signed(t, e.key, http.MethodPut, "/sums/bad-"+b.name, b.hdr, data, "", time.Now())
		e.do(t, b.name, req, 400, b.code)
		gone(ctx, t, cl, "sums", "bad-"+b.name)
	}
	sum := md5.Sum(data)
	req := e.signed(t, e.key, http.MethodPut, "/sums/good-md5", http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}}, data, "", time.Now())
	e.do(t, "right Content-MD5", req, 200, "")
}

func testS3Copy(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "copy-src")
	mkBucket(ctx, t, cl, "copy-dst")
	data := randBytes(3, 70_000)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("copy-src"), Key: aws.String("a b/src"), Body: bytes.NewReader(data),
		ContentType: aws.String("image/png"), Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	cout, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("copied"), CopySource: aws.String("copy-src/a%20b/src")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cout.CopyObjectResult.ETag) != `"`+md5hex(data)+`"` {
		t.Fatalf("copy ETag %s", aws.ToString(cout.CopyObjectResult.ETag))
	}
	got, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("copied")})
	if !bytes.Equal(got, data) || aws.ToString(out.ContentType) != "image/png" || out.Metadata["k"] != "v" {
		t.Fatalf("COPY: %d bytes, type %q, meta %v", len(got), aws.ToString(out.ContentType), out.Metadata)
	}
	// REPLACE, into the same bucket.
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-src"), Key: aws.String("replaced"), CopySource: aws.String("copy-src/a%20b/src"),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/csv"), Metadata: map[string]string{"new": "1"}}); err != nil {
		t.Fatal(err)
	}
	got, out = get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("copy-src"), Key: aws.String("replaced")})
	if !bytes.Equal(got, data) || aws.ToString(out.ContentType) != "text/csv" || out.Metadata["new"] != "1" || out.Metadata["k"] != "" {
		t.Fatalf("REPLACE: %d bytes, type %q, meta %v", len(got), aws.ToString(out.ContentType), out.Metadata)
	}
	// Onto itself without REPLACE: refused, as S3.
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-src"), Key: aws.String("a b/src"), CopySource: aws.String("copy-src/a%20b/src")})
	wantS3Err(t, "copy onto itself", err, "InvalidRequest", 400)
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("x"), CopySource: aws.String("copy-src/missing")})
	wantS3Err(t, "copy of a missing source", err, "NoSuchKey", 404)
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("x"), CopySource: aws.String("copy-src/a%20b/src"),
		CopySourceIfMatch: aws.String(`"nope"`)})
	wantS3Err(t, "copy-source-if-match", err, "PreconditionFailed", 412)
}

func testS3List(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "listing")
	keys := []string{"a", "b/1", "b/2", "b/3/x", "c d", "c/1", "d+e", "e/f/g", "z"}
	for i := range 25 {
		keys = append(keys, fmt.Sprintf("many/%03d", i))
	}
	var g errgroup.Group
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error {
			_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("listing"), Key: aws.String(k), Body: strings.NewReader(k)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	// V2, all keys, paged by 4.
	var all []string
	var tok *string
	for pages := 0; ; pages++ {
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("listing"), MaxKeys: aws.Int32(4), ContinuationToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.KeyCount) != int32(len(out.Contents)) || len(out.Contents) > 4 {
			t.Fatalf("KeyCount %d for %d keys", aws.ToInt32(out.KeyCount), len(out.Contents))
		}
		for _, o := range out.Contents {
			all = append(all, aws.ToString(o.Key))
			if aws.ToString(o.ETag) != `"`+md5hex([]byte(aws.ToString(o.Key)))+`"` || aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || o.Owner != nil {
				t.Fatalf("entry %+v", o)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		tok = out.NextContinuationToken
	}
	if !slices.Equal(all, keys) {
		t.Fatalf("paged listing\n%v\nwant\n%v", all, keys)
	}
	// Delimiter and prefix.
	type lc struct {
		prefix, delim, start string
		max                  int32
		keys, prefixes       []string
		truncated            bool
	}
	for _, c := range []lc{
		{"", "/", "", 1000, []string{"a", "c d", "d+e", "z"}, []string{"b/", "c/", "e/", "many/"}, false},
		{"b/", "/", "", 1000, []string{"b/1", "b/2"}, []string{"b/3/"}, false},
		{"b", "", "", 1000, []string{"b/1", "b/2", "b/3/x"}, nil, false},
		{"", "/", "", 3, []string{"a", "c d"}, []string{"b/"}, true}, // "c d" < "c/"
		{"", "/", "b/", 3, []string{"c d", "d+e"}, []string{"c/"}, true},
		{"many/", "", "many/020", 1000, []string{"many/021", "many/022", "many/023", "many/024"}, nil, false},
		{"e/", "f", "", 1000, nil, []string{"e/f"}, false},
	} {
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("listing"), Prefix: aws.String(c.prefix),
			Delimiter: aws.String(c.delim), StartAfter: aws.String(c.start), MaxKeys: aws.Int32(c.max), FetchOwner: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		var ks, ps []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
			if o.Owner == nil || aws.ToString(o.Owner.ID) != "alice" {
				t.Fatalf("fetch-owner: %+v", o.Owner)
			}
		}
		for _, p := range out.CommonPrefixes {
			ps = append(ps, aws.ToString(p.Prefix))
		}
		if !slices.Equal(ks, c.keys) || !slices.Equal(ps, c.prefixes) || aws.ToBool(out.IsTruncated) != c.truncated {
			t.Fatalf("prefix %q delimiter %q start %q max %d: keys %v prefixes %v truncated %v", c.prefix, c.delim, c.start, c.max, ks, ps, aws.ToBool(out.IsTruncated))
		}
	}
	// Paging with a delimiter visits every key and prefix once.
	var seen []string
	tok = nil
	for {
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("listing"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), ContinuationToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, o := range out.Contents {
			page = append(page, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			page = append(page, aws.ToString(p.Prefix))
		}
		sort.Strings(page) // keys and prefixes come in two lists
		seen = append(seen, page...)
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		tok = out.NextContinuationToken
	}
	if want := []string{"a", "b/", "c d", "c/", "d+e", "e/", "many/", "z"}; !slices.Equal(seen, want) {
		t.Fatalf("delimiter paging: %v, want %v", seen, want)
	}
	// V1 with marker; NextMarker with a delimiter.
	out1, err := cl.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("listing"), Marker: aws.String("c/1"), MaxKeys: aws.Int32(2)})
	if err != nil || len(out1.Contents) != 2 || aws.ToString(out1.Contents[0].Key) != "d+e" || !aws.ToBool(out1.IsTruncated) || out1.Contents[0].Owner == nil {
		t.Fatalf("v1 marker: %+v, %v", out1, err)
	}
	out1, err = cl.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("listing"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil || aws.ToString(out1.NextMarker) != "b/" {
		t.Fatalf("v1 NextMarker: %q, %v", aws.ToString(out1.NextMarker), err)
	}
	out1, err = cl.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("listing"), Delimiter: aws.String("/"), Marker: aws.String("b/"), MaxKeys: aws.Int32(2)})
	if err != nil || len(out1.Contents) != 1 || aws.ToString(out1.Contents[0].Key) != "c d" || aws.ToString(out1.CommonPrefixes[0].Prefix) != "c/" {
		t.Fatalf("v1 from a common prefix: %+v, %v", out1, err)
	}
	// encoding-type=url: keys come back encoded.
	out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("listing"), Prefix: aws.String("c "), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "c+d" {
		t.Fatalf("encoding-type=url: %+v, %v", out.Contents, err)
	}
}

func testS3Multipart(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "mpu")
	const partSize = 5 << 20
	const nParts = 8
	data := randBytes(4, partSize*(nParts-1)+1234567)
	key := "big/object.bin"
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String(key),
		ContentType: aws.String("application/x-big"), Metadata: map[string]string{"parts": "8"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cr.UploadId
	// 8 goroutines send the parts in reverse order; part 3 is first sent with wrong bytes and
	// then again (last one wins).
	etags := make([]string, nParts)
	part := func(n int) []byte { return data[(n-1)*partSize : min(n*partSize, len(data))] }
	if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: id,
		PartNumber: aws.Int32(3), Body: bytes.NewReader(randBytes(99, partSize))}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, nParts)
	order := make(chan int, nParts)
	for n := nParts; n >= 1; n-- {
		order <- n
	}
	close(order)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range order {
				out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: id,
					PartNumber: aws.Int32(int32(n)), Body: bytes.NewReader(part(n))})
				if err != nil {
					errs <- fmt.Errorf("part %d: %w", n, err)
					return
				}
				etags[n-1] = aws.ToString(out.ETag)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lp, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: id})
	if err != nil || len(lp.Parts) != nParts {
		t.Fatalf("ListParts: %+v, %v", lp, err)
	}
	for i, p := range lp.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToString(p.ETag) != etags[i] || aws.ToInt64(p.Size) != int64(len(part(i+1))) {
			t.Fatalf("part %d: %+v, want ETag %s", i+1, p, etags[i])
		}
	}
	lp, err = cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: id, MaxParts: aws.Int32(3), PartNumberMarker: aws.String("2")})
	if err != nil || len(lp.Parts) != 3 || aws.ToInt32(lp.Parts[0].PartNumber) != 3 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "5" {
		t.Fatalf("ListParts paged: %+v, %v", lp, err)
	}
	lu, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(id) || aws.ToString(lu.Uploads[0].Key) != key {
		t.Fatalf("ListMultipartUploads: %+v, %v", lu, err)
	}
	var cparts []types.CompletedPart
	sums := md5.New()
	for i, et := range etags {
		cparts = append(cparts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: aws.String(et)})
		s := md5.Sum(part(i + 1))
		sums.Write(s[:])
	}
	done, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cparts}})
	if err != nil {
		t.Fatal(err)
	}
	wantETag := fmt.Sprintf(`"%x-%d"`, sums.Sum(nil), nParts)
	if aws.ToString(done.ETag) != wantETag {
		t.Fatalf("multipart ETag %s, want %s", aws.ToString(done.ETag), wantETag)
	}
	got, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String(key)})
	if !bytes.Equal(got, data) || aws.ToString(out.ETag) != wantETag || aws.ToString(out.ContentType) != "application/x-big" || out.Metadata["parts"] != "8" {
		t.Fatalf("assembled object: %d of %d bytes, ETag %s, type %q, meta %v", len(got), len(data), aws.ToString(out.ETag), aws.ToString(out.ContentType), out.Metadata)
	}
	got, out = get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String(key), PartNumber: aws.Int32(8)})
	if !bytes.Equal(got, part(8)) || aws.ToInt32(out.PartsCount) != nParts {
		t.Fatalf("GET partNumber=8: %d bytes, parts count %d", len(got), aws.ToInt32(out.PartsCount))
	}
	hout, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String(key), PartNumber: aws.Int32(2)})
	if err != nil || aws.ToInt64(hout.ContentLength) != partSize {
		t.Fatalf("HEAD partNumber=2: %+v, %v", hout, err)
	}
	_, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String(key), PartNumber: aws.Int32(9)})
	wantS3Err(t, "part 9 of 8", err, "InvalidPartNumber", 416)
	// The upload is gone.
	_, err = cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: id})
	wantS3Err(t, "ListParts after complete", err, "NoSuchUpload", 404)
	if lu, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")}); err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("uploads left: %+v, %v", lu, err)
	}
	// UploadPartCopy: two ranges of the big object make a new one.
	cr2, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("copy-of-parts")})
	if err != nil {
		t.Fatal(err)
	}
	var cps []types.CompletedPart
	for i, rng := range [][2]int{{0, partSize - 1}, {partSize, partSize + 99}} {
		out, err := cl.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("copy-of-parts"), UploadId: cr2.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String("mpu/" + key), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", rng[0], rng[1]))})
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
	}
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("copy-of-parts"),
		UploadId: cr2.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: cps}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("copy-of-parts")}); !bytes.Equal(got, data[:partSize+100]) {
		t.Fatalf("UploadPartCopy object: %d bytes", len(got))
	}
	// Abort leaves nothing.
	cr3, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("aborted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("aborted"), UploadId: cr3.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(part(1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("aborted"), UploadId: cr3.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("aborted"), UploadId: cr3.UploadId})
	wantS3Err(t, "ListParts after abort", err, "NoSuchUpload", 404)
	_, err = cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("aborted"), UploadId: cr3.UploadId})
	wantS3Err(t, "abort twice", err, "NoSuchUpload", 404)
	gone(ctx, t, cl, "mpu", "aborted")
	if left := mpuFilesLeft(t, e.c); len(left) > 0 {
		t.Fatalf("files left under .ais/mpu after complete and abort: %v", left)
	}
}

// mpuFilesLeft lists the part files still on the targets' mountpaths.
func mpuFilesLeft(t *testing.T, c *cluster.Cluster) []string {
	var left []string
	for name := range filesUnder(t, c) {
		if strings.Contains(name, "/.ais/mpu/") && strings.Contains(name, "/part.") {
			left = append(left, name)
		}
	}
	return left
}

func testS3MultipartErrors(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "mpu-errs")
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu-errs"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("small part")
	var ets []string
	for n := 1; n <= 2; n++ {
		out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu-errs"), Key: aws.String("k"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(n)), Body: bytes.NewReader(small)})
		if err != nil {
			t.Fatal(err)
		}
		ets = append(ets, aws.ToString(out.ETag))
	}
	complete := func(parts ...types.CompletedPart) error {
		_, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu-errs"), Key: aws.String("k"),
			UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	p := func(n int32, et string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(et)}
	}
	wantS3Err(t, "small part", complete(p(1, ets[0]), p(2, ets[1])), "EntityTooSmall", 400)
	wantS3Err(t, "wrong ETag", complete(p(1, `"00000000000000000000000000000000"`)), "InvalidPart", 400)
	wantS3Err(t, "missing part", complete(p(7, ets[0])), "InvalidPart", 400)
	wantS3Err(t, "order", complete(p(2, ets[1]), p(1, ets[0])), "InvalidPartOrder", 400)
	_, err = cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu-errs"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(10001), Body: bytes.NewReader(small)})
	wantS3Err(t, "part number 10001", err, "InvalidArgument", 400)
	_, err = cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu-errs"), Key: aws.String("k"), UploadId: aws.String("0123456789abcdef0123456789abcdef"),
		PartNumber: aws.Int32(1), Body: bytes.NewReader(small)})
	wantS3Err(t, "unknown upload", err, "NoSuchUpload", 404)
	// Malformed CompleteMultipartUpload XML (raw, signed).
	for _, doc := range []string{"<CompleteMultipartUpload><Part>", "not xml at all", "<CompleteMultipartUpload></CompleteMultipartUpload>"} {
		req := e.signed(t, e.key, http.MethodPost, "/mpu-errs/k?uploadId="+aws.ToString(cr.UploadId), nil, []byte(doc), "", time.Now())
		e.do(t, "malformed XML "+doc, req, 400, "MalformedXML")
	}
	// Only the last part may be small.
	if err := complete(p(2, ets[1])); err != nil {
		t.Fatalf("one small part: %v", err)
	}
	if got, _ := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("mpu-errs"), Key: aws.String("k")}); !bytes.Equal(got, small) {
		t.Fatalf("completed object %q", got)
	}
}

func testS3Presigned(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "presign")
	ps := s3.NewPresignClient(cl)
	data := randBytes(5, 12345)
	pu, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("presign"), Key: aws.String("via url")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, pu.URL, bytes.NewReader(data))
	for k, vs := range pu.SignedHeader {
		if k != "Host" {
			req.Header[k] = vs
		}
	}
	e.do(t, "presigned PUT", req, 200, "")
	pg, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("presign"), Key: aws.String("via url")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, pg.URL, nil)
	if _, body := e.do(t, "presigned GET", req, 200, ""); !bytes.Equal(body, data) {
		t.Fatal("presigned GET returned other bytes")
	}
	// Tampered and expired URLs.
	req, _ = http.NewRequest(http.MethodGet, strings.Replace(pg.URL, "via%20url", "other", 1), nil)
	e.do(t, "presigned GET of another key", req, 403, "SignatureDoesNotMatch")
	short, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("presign"), Key: aws.String("via url")}, s3.WithPresignExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	shortPut, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("presign"), Key: aws.String("late")}, s3.WithPresignExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	req, _ = http.NewRequest(http.MethodGet, short.URL, nil)
	e.do(t, "expired presigned GET", req, 403, "AccessDenied")
	req, _ = http.NewRequest(http.MethodPut, shortPut.URL, bytes.NewReader(data))
	e.do(t, "expired presigned PUT", req, 403, "AccessDenied")
	gone(ctx, t, cl, "presign", "late")
	// Longer than 7 days: refused when used.
	long := strings.Replace(pg.URL, "X-Amz-Expires=3600", "X-Amz-Expires=604801", 1)
	req, _ = http.NewRequest(http.MethodGet, long, nil)
	e.do(t, "X-Amz-Expires over 7 days", req, 400, "AuthorizationQueryParametersError")
}

func testS3Chunked(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "chunked")
	data := randBytes(6, 200_000)
	e.do(t, "signed chunked PUT", e.signedChunkedPut(t, e.key, "/chunked/signed", data, 64<<10, -1), 200, "")
	if got, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("chunked"), Key: aws.String("signed")}); !bytes.Equal(got, data) ||
		aws.ToString(out.ETag) != `"`+md5hex(data)+`"` || out.ContentEncoding != nil {
		t.Fatalf("signed chunked object: %d bytes, ETag %s, Content-Encoding %v", len(got), aws.ToString(out.ETag), out.ContentEncoding)
	}
	e.do(t, "tampered chunk", e.signedChunkedPut(t, e.key, "/chunked/tampered", data, 64<<10, 1), 403, "SignatureDoesNotMatch")
	gone(ctx, t, cl, "chunked", "tampered")
	e.do(t, "tampered last chunk", e.signedChunkedPut(t, e.key, "/chunked/tampered2", data, 64<<10, 3), 403, "SignatureDoesNotMatch")
	gone(ctx, t, cl, "chunked", "tampered2")
	// Unsigned payload with a trailing CRC32 (what SDKs send over TLS).
	crc := func(b []byte) string {
		h := crc32IEEE()
		h.Write(b)
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	for _, tc := range []struct {
		name, sum string
		status    int
		code      string
	}{{"trailer", crc(data), 200, ""}, {"bad-trailer", crc([]byte("other")), 400, "BadDigest"}} {
		var body bytes.Buffer
		for off := 0; off < len(data); off += 50_000 {
			chunk := data[off:min(off+50_000, len(data))]
			fmt.Fprintf(&body, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		fmt.Fprintf(&body, "0\r\nx-amz-checksum-crc32:%s\r\n\r\n", tc.sum)
		req := e.signed(t, e.key, http.MethodPut, "/chunked/"+tc.name, http.Header{"Content-Encoding": {"aws-chunked"},
			"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(data))}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}},
			body.Bytes(), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", time.Now())
		e.do(t, tc.name, req, tc.status, tc.code)
		if tc.status != 200 {
			gone(ctx, t, cl, "chunked", tc.name)
			continue
		}
		got, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("chunked"), Key: aws.String(tc.name), ChecksumMode: types.ChecksumModeEnabled})
		if !bytes.Equal(got, data) || aws.ToString(out.ChecksumCRC32) != tc.sum {
			t.Fatalf("trailer object: %d bytes, CRC32 %q, want %q", len(got), aws.ToString(out.ChecksumCRC32), tc.sum)
		}
	}
}

func testS3BadInput(ctx context.Context, t *testing.T, e *s3Env) {
	cl := e.cl
	mkBucket(ctx, t, cl, "bad")
	data := []byte("some bytes")
	// Wrong secret, unknown key.
	wrong := *e.key
	wrong.Secret = strings.Repeat("x", 40)
	e.do(t, "wrong signature", e.signed(t, &wrong, http.MethodPut, "/bad/k", nil, data, "", time.Now()), 403, "SignatureDoesNotMatch")
	gone(ctx, t, cl, "bad", "k")
	unknown := wrong
	unknown.ID = "AKNOSUCHKEY000000000"
	e.do(t, "unknown key", e.signed(t, &unknown, http.MethodPut, "/bad/k", nil, data, "", time.Now()), 403, "InvalidAccessKeyId")
	// Clock skew over 15 minutes.
	e.do(t, "skewed clock", e.signed(t, e.key, http.MethodPut, "/bad/k", nil, data, "", time.Now().Add(-16*time.Minute)), 403, "RequestTimeTooSkewed")
	gone(ctx, t, cl, "bad", "k")
	// x-amz-content-sha256 that does not match the body.
	e.do(t, "payload hash", e.signed(t, e.key, http.MethodPut, "/bad/k", nil, data, sha256hex([]byte("other")), time.Now()), 400, "XAmzContentSHA256Mismatch")
	gone(ctx, t, cl, "bad", "k")
	// A body shorter than its Content-Length.
	if status, code := shortS3Put(t, e, "/bad/short"); status != 400 || code != "IncompleteBody" {
		t.Fatalf("short body: status %d code %q, want 400 IncompleteBody", status, code)
	}
	gone(ctx, t, cl, "bad", "short")
	// A key of 1025 bytes.
	_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bad"), Key: aws.String(strings.Repeat("k", 1025)), Body: bytes.NewReader(data)})
	wantS3Err(t, "1025-byte key", err, "KeyTooLongError", 400)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bad"), Key: aws.String(strings.Repeat("k", 200) + "/" + strings.Repeat("k", 823)), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("1024-byte key: %v", err)
	}
	// Operations we do not implement, and methods S3 does not have.
	_, err = cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("bad")})
	wantS3Err(t, "bucket policy", err, "NotImplemented", 501)
	e.do(t, "PATCH", e.signed(t, e.key, http.MethodPatch, "/bad/k", nil, nil, "", time.Now()), 405, "MethodNotAllowed")
	// Nothing but the 1024-byte key was stored.
	out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bad")})
	if err != nil || len(out.Contents) != 1 {
		t.Fatalf("bucket after bad input: %+v, %v", out.Contents, err)
	}
}

// shortS3Put sends a signed PUT that announces 100000 bytes, sends 1000 and half-closes;
// it returns the answer's status and S3 code.
func shortS3Put(t *testing.T, e *s3Env, path string) (int, string) {
	t.Helper()
	full := randBytes(7, 100_000)
	req := e.signed(t, e.key, http.MethodPut, path, nil, full, unsignedPayloadHash, time.Now())
	return sendShort(t, e.endpoint, req, full[:1000])
}

const unsignedPayloadHash = "UNSIGNED-PAYLOAD"

func testS3Access(ctx context.Context, t *testing.T, e *s3Env) {
	mkBucket(ctx, t, e.cl, "private")
	put(ctx, t, e.cl, "private", "k", []byte("secret"))
	_, err := e.altCl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("private"), Key: aws.String("k")})
	wantS3Err(t, "other user's GET", err, "AccessDenied", 403)
	_, err = e.altCl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("private"), Key: aws.String("k2"), Body: strings.NewReader("x")})
	wantS3Err(t, "other user's PUT", err, "AccessDenied", 403)
	_, err = e.altCl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("private")})
	wantS3Err(t, "other user's list", err, "AccessDenied", 403)
	_, err = e.altCl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("private")})
	wantS3Err(t, "other user's DeleteBucket", err, "AccessDenied", 403)
	anon := func(method, path string) *http.Request {
		req, _ := http.NewRequest(method, e.endpoint+path, nil)
		return req
	}
	e.do(t, "anonymous GET", anon(http.MethodGet, "/private/k"), 403, "AccessDenied")
	e.do(t, "anonymous ListBuckets", anon(http.MethodGet, "/"), 403, "AccessDenied")
	// Public for reads: anonymous and other users read, nobody else writes.
	if _, err := e.cl.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("private"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if _, body := e.do(t, "anonymous GET of a public bucket", anon(http.MethodGet, "/private/k"), 200, ""); string(body) != "secret" {
		t.Fatalf("anonymous GET: %q", body)
	}
	e.do(t, "anonymous list of a public bucket", anon(http.MethodGet, "/private?list-type=2"), 200, "")
	e.do(t, "anonymous PUT into a public bucket", anon(http.MethodPut, "/private/k3"), 403, "AccessDenied")
	if got, _ := get(ctx, t, e.altCl, &s3.GetObjectInput{Bucket: aws.String("private"), Key: aws.String("k")}); string(got) != "secret" {
		t.Fatal("other user's GET of a public bucket")
	}
	_, err = e.altCl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("private"), Key: aws.String("k")})
	wantS3Err(t, "other user's DELETE in a public bucket", err, "AccessDenied", 403)
	acl, err := e.cl.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("private")})
	if err != nil || len(acl.Grants) != 2 {
		t.Fatalf("GetBucketAcl: %+v, %v", acl, err)
	}
}

func testS3VirtualHost(ctx context.Context, t *testing.T, e *s3Env) {
	addr := strings.TrimPrefix(e.endpoint, "http://")
	_, port, _ := strings.Cut(addr, ":")
	vh := s3.New(s3.Options{BaseEndpoint: aws.String("http://s3.localhost:" + port), Region: "us-east-1",
		Credentials: e.cl.Options().Credentials, HTTPClient: dialTo(addr), Retryer: aws.NopRetryer{}})
	if _, err := vh.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatal(err)
	}
	if _, err := vh.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/k"), Body: strings.NewReader("virtual")}); err != nil {
		t.Fatal(err)
	}
	got, _ := get(ctx, t, e.cl, &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/k")})
	if string(got) != "virtual" {
		t.Fatalf("virtual-host PUT read path style: %q", got)
	}
	out, err := vh.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(out.Contents) != 1 {
		t.Fatalf("virtual-host list: %+v, %v", out, err)
	}
}

// testS3Redirect starts a second gateway with --s3-redirect: GetObject and HeadObject answer
// 307 to the owner, which the SDK's HTTP client follows.
func testS3Redirect(ctx context.Context, t *testing.T, e *s3Env) {
	mkBucket(ctx, t, e.cl, "redir")
	data := randBytes(8, 1<<20+3)
	put(ctx, t, e.cl, "redir", "k", data)
	e.c.Spec.GatewayArgs = append(e.c.Spec.GatewayArgs, "--s3-redirect")
	e.c.AddGateway(t)
	if err := e.c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	redirects := 0
	hc := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		redirects++
		return nil
	}}
	cl := s3.New(s3.Options{BaseEndpoint: aws.String(e.c.GatewayURLs[len(e.c.GatewayURLs)-1]), Region: "us-east-1", UsePathStyle: true,
		Credentials: e.cl.Options().Credentials, HTTPClient: hc, Retryer: aws.NopRetryer{}})
	got, out := get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("redir"), Key: aws.String("k")})
	if !bytes.Equal(got, data) || aws.ToString(out.ETag) != `"`+md5hex(data)+`"` || redirects != 1 {
		t.Fatalf("redirected GET: %d bytes, ETag %s, %d redirects", len(got), aws.ToString(out.ETag), redirects)
	}
	got, _ = get(ctx, t, cl, &s3.GetObjectInput{Bucket: aws.String("redir"), Key: aws.String("k"), Range: aws.String("bytes=10-19")})
	if !bytes.Equal(got, data[10:20]) {
		t.Fatalf("redirected range GET: %q", got)
	}
	if h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("redir"), Key: aws.String("k")}); err != nil || aws.ToInt64(h.ContentLength) != int64(len(data)) {
		t.Fatalf("redirected HEAD: %+v, %v", h, err)
	}
	// Writes still go through the gateway.
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("redir"), Key: aws.String("k2"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}
