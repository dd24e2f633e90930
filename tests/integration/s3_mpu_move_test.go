package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/aisfoundry/ais/tests/cluster"
)

// TestS3MultipartOwnerChange starts 16 multipart uploads on 3 targets, adds a fourth target
// (which becomes the owner of about a quarter of the objects) and then finishes every upload:
// the new owners adopt their uploads from the old ones, every object completes with the right
// bytes, and no upload is left behind on any disk.
func TestS3MultipartOwnerChange(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	e := newS3Env(t, cluster.Spec{Meta: 1, Targets: 3, Mountpaths: 2, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const bucket, nUploads, partSize = "mpumove", 16, 5 << 20
	mkBucket(ctx, t, e.cl, bucket)
	ups := make([]*mpuUpload, nUploads)
	for i := range ups {
		u := &mpuUpload{key: fmt.Sprintf("obj/%02d", i), data: randBytes(uint64(100+i), 2*partSize+1000)}
		cr, err := e.cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(u.key)})
		if err != nil {
			t.Fatal(err)
		}
		u.id = aws.ToString(cr.UploadId)
		for n := 1; n <= 2; n++ {
			u.etags = append(u.etags, uploadPart(ctx, t, e.cl, bucket, u, n, partSize))
		}
		ups[i] = u
	}
	for _, u := range ups {
		if u.holder = uploadHolder(t, e.c, bucket, u.id); u.holder == "" {
			t.Fatalf("upload %s of %s is on no target's disk", u.id, u.key)
		}
	}

	e.c.AddTarget(t)
	if err := e.c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the gateway follows the new epoch

	moved := 0
	for _, u := range ups {
		u.etags = append(u.etags, uploadPart(ctx, t, e.cl, bucket, u, 3, partSize))
		var parts []types.CompletedPart
		for i, et := range u.etags {
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: aws.String(et)})
		}
		if _, err := e.cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket),
			Key: aws.String(u.key), UploadId: aws.String(u.id),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
			t.Fatalf("complete %s (upload held by %s before the new target): %v", u.key, u.holder, err)
		}
		out, err := e.cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(u.key)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, u.data) {
			t.Fatalf("GET %s: %d bytes (%v), want the %d uploaded", u.key, len(got), err, len(u.data))
		}
		if uploadHolder(t, e.c, bucket, u.id) != "" {
			t.Errorf("upload %s of %s is still on a disk after Complete", u.id, u.key)
		}
		if objectHolder(e.c, bucket, u.key) != u.holder {
			moved++
		}
	}
	t.Logf("%d of %d uploads completed on a new owner", moved, nUploads)
	if moved == 0 {
		t.Fatal("no upload changed owner: the test did not test adoption (placement changed?)")
	}
	lu, err := e.cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lu.Uploads) != 0 {
		t.Fatalf("%d uploads listed after every one completed", len(lu.Uploads))
	}
}

// mpuUpload is one upload of TestS3MultipartOwnerChange.
type mpuUpload struct {
	key, id string
	data    []byte
	etags   []string
	holder  string // the target that held it before the new target came
}

// uploadPart sends part n (1-based) of u.data cut in partSize pieces and returns its ETag.
func uploadPart(ctx context.Context, t *testing.T, cl *s3.Client, bucket string, u *mpuUpload, n, partSize int) string {
	t.Helper()
	body := u.data[(n-1)*partSize : min(n*partSize, len(u.data))]
	out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(u.key),
		UploadId: aws.String(u.id), PartNumber: aws.Int32(int32(n)), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("upload %s part %d: %v", u.key, n, err)
	}
	return aws.ToString(out.ETag)
}

// uploadHolder returns the name of the target whose disk holds an upload's directory, "" if
// none does.
func uploadHolder(t *testing.T, c *cluster.Cluster, bucket, id string) string {
	t.Helper()
	holder := ""
	for i, mps := range c.TargetMountpaths {
		for _, mp := range mps {
			if _, err := os.Stat(filepath.Join(mp, ".ais", "mpu", bucket, id, "upload")); err == nil {
				if holder != "" {
					t.Fatalf("upload %s is on %s and on %s", id, holder, c.Targets[i].Name)
				}
				holder = c.Targets[i].Name
			}
		}
	}
	return holder
}

// objectHolder returns the name of the target whose disk holds an object, "" if none does.
func objectHolder(c *cluster.Cluster, bucket, key string) string {
	for i, mps := range c.TargetMountpaths {
		for _, mp := range mps {
			if _, err := os.Stat(filepath.Join(mp, "@ais", bucket, key)); err == nil {
				return c.Targets[i].Name
			}
		}
	}
	return ""
}
