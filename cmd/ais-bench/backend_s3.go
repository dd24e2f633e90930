package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Backend drives the gateway's S3 API with aws-sdk-go-v2 (path-style addressing, SigV4 with
// static keys, no SDK retries so that every failure is counted).
type s3Backend struct {
	c      *s3.Client
	bucket string
}

type s3Config struct {
	Endpoint  string
	Region    string
	AccessKey string
	SecretKey string
	// SignPayload hashes each PUT body for the signature (SigV4 over plain HTTP); without it
	// the bench sends UNSIGNED-PAYLOAD and spends no CPU on hashing.
	SignPayload bool
}

func newS3Backend(cfg s3Config, bucket string, hc *http.Client) *s3Backend {
	endpoint := cfg.Endpoint
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		endpoint = "http://" + endpoint
	}
	opts := s3.Options{
		BaseEndpoint:               aws.String(endpoint),
		Region:                     cfg.Region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		HTTPClient:                 hc,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		// The bench reads ranges and validates content itself.
		DisableLogOutputChecksumValidationSkipped: true,
	}
	if !cfg.SignPayload {
		opts.APIOptions = append(opts.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}
	return &s3Backend{c: s3.New(opts), bucket: bucket}
}

func (b *s3Backend) put(ctx context.Context, name string, body *patReader) error {
	_, err := b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(name),
		Body:          body,
		ContentLength: aws.Int64(body.size),
	})
	return err
}

func (b *s3Backend) get(ctx context.Context, name string, off, length int64, buf []byte, sink func([]byte) error) (int64, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(name)}
	if off > 0 || length > 0 {
		rng := "bytes=" + strconv.FormatInt(off, 10) + "-"
		if length > 0 {
			rng += strconv.FormatInt(off+length-1, 10)
		}
		in.Range = aws.String(rng)
	}
	out, err := b.c.GetObject(ctx, in)
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	return readAll(out.Body, buf, sink)
}

func (b *s3Backend) list(ctx context.Context, prefix string) ([]object, error) {
	var out []object
	p := s3.NewListObjectsV2Paginator(b.c, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out = append(out, object{name: aws.ToString(o.Key), size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// createBucket makes the bucket through S3 (for a user who has only S3 keys).
func (b *s3Backend) createBucket(ctx context.Context) error {
	_, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.bucket)})
	return err
}
