package gateway

import (
	"errors"
	"strings"
	"time"
)

// S3Config configures the S3 API on the gateway's public port (docs/s3.md).
type S3Config struct {
	// Redirect answers GetObject and HeadObject with 307 to the owning target instead of
	// streaming the object through the gateway (for clients that follow redirects).
	Redirect bool
	// Domain, if set, turns on virtual-host style: a request to BUCKET.s3.DOMAIN[:port]
	// addresses BUCKET. Requests to s3.DOMAIN and to any other host are path style.
	Domain string
	// Region is the region the API reports (GetBucketLocation, x-amz-bucket-region) and the
	// one CreateBucket accepts in a LocationConstraint. Signatures of any region verify.
	Region string
	// MaxSkew bounds the difference between a signed request's time and the gateway's clock
	// (RequestTimeTooSkewed).
	MaxSkew time.Duration
	// MaxChunk bounds one chunk of an aws-chunked body.
	MaxChunk int
	// MaxPutSize bounds the body of PutObject and of one part (EntityTooLarge).
	MaxPutSize int64
}

// DefaultS3Config returns the defaults: path style, us-east-1, 15 minutes of skew, 5 GiB.
func DefaultS3Config() S3Config {
	return S3Config{Region: "us-east-1", MaxSkew: 15 * time.Minute, MaxChunk: 16 << 20, MaxPutSize: 5 << 30}
}

// Validate checks the S3 settings.
func (c S3Config) Validate() error {
	var errs []error
	if c.Region == "" {
		errs = append(errs, errors.New("s3 region must not be empty"))
	}
	if c.MaxSkew <= 0 || c.MaxChunk <= 0 || c.MaxPutSize <= 0 {
		errs = append(errs, errors.New("s3 max skew, max chunk and max put size must be positive"))
	}
	if strings.ContainsAny(c.Domain, "/: ") || strings.HasPrefix(c.Domain, ".") {
		errs = append(errs, errors.New("s3 domain must be a host name such as example.com (no port, scheme or path)"))
	}
	return errors.Join(errs...)
}
