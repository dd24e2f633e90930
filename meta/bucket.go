package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Provider says where a bucket's objects live. Only "ais" (objects stored by this cluster) exists
// today; remote providers come with the remote backends.
type Provider string

const ProviderAIS Provider = "ais"

// Bucket is one bucket in the bucket metadata.
type Bucket struct {
	Provider Provider `json:"provider"`
	Name     string   `json:"name"`
	// ID changes whenever a bucket of the same name is created again, so that stale objects
	// of a destroyed bucket are never taken for objects of the new one.
	ID      uint64      `json:"id"`
	Created int64       `json:"created"` // Unix nanoseconds, stamped by the proposer
	Owner   string      `json:"owner,omitempty"`
	Props   BucketProps `json:"props"`
}

// Key is "provider/name", the bucket's key in the bucket metadata and in placement.
func (b *Bucket) Key() string { return BucketKey(b.Provider, b.Name) }

// BucketKey joins a provider and a bucket name.
func BucketKey(p Provider, name string) string { return string(p) + "/" + name }

// Checksum types.
const (
	ChecksumHighway = "highway" // HighwayHash-256, the default
	ChecksumMD5     = "md5"
	ChecksumCRC32C  = "crc32c"
	ChecksumSHA256  = "sha256"
	ChecksumNone    = "none"
)

// ValidChecksumType reports whether t names a supported checksum.
func ValidChecksumType(t string) bool {
	switch t {
	case ChecksumHighway, ChecksumMD5, ChecksumCRC32C, ChecksumSHA256, ChecksumNone:
		return true
	}
	return false
}

// BucketProps are a bucket's settings.
type BucketProps struct {
	Checksum   ChecksumProps `json:"checksum"`
	Versioning bool          `json:"versioning"`
	Write      WriteProps    `json:"write"`
	Mirror     MirrorProps   `json:"mirror"`
	EC         ECProps       `json:"ec"`
	Access     AccessProps   `json:"access"`
	// S3Versioning is the versioning status the S3 API reports ("", "Enabled" or
	// "Suspended"); it is a status only: no object versions are kept for it.
	S3Versioning string `json:"s3_versioning,omitempty"`
}

// ChecksumProps say how objects are checksummed.
type ChecksumProps struct {
	Type         string `json:"type"`
	ValidateRead bool   `json:"validate_read"`
}

// WriteProps say how PUTs reach the disk.
type WriteProps struct {
	Fsync bool `json:"fsync"`
}

// MirrorProps configure n-way mirroring over a target's mountpaths.
type MirrorProps struct {
	Copies int  `json:"copies"`
	Sync   bool `json:"sync"`
}

// ECProps configure Reed-Solomon erasure coding across targets.
type ECProps struct {
	Enabled      bool  `json:"enabled"`
	Data         int   `json:"data"`
	Parity       int   `json:"parity"`
	ObjSizeLimit int64 `json:"objsize_limit"`
	FullCopy     bool  `json:"full_copy"`
}

// AccessProps say who may do what with the bucket.
type AccessProps struct {
	PublicRead bool `json:"public_read"`
}

// DefaultBucketProps are the properties of a bucket created without any.
func DefaultBucketProps() BucketProps {
	return BucketProps{
		Checksum:   ChecksumProps{Type: ChecksumHighway},
		Versioning: true,
		Write:      WriteProps{Fsync: true},
		Mirror:     MirrorProps{Copies: 1},
		EC:         ECProps{Data: 2, Parity: 1, ObjSizeLimit: 256 << 10, FullCopy: true},
	}
}

// Validate checks the properties' values against each other.
func (p *BucketProps) Validate() error {
	if !ValidChecksumType(p.Checksum.Type) {
		return fmt.Errorf("%w: checksum.type %q: use one of highway, md5, crc32c, sha256, none",
			ErrInvalidBucketProps, p.Checksum.Type)
	}
	if p.Mirror.Copies < 1 || p.Mirror.Copies > 32 {
		return fmt.Errorf("%w: mirror.copies %d: must be 1 (off) to 32", ErrInvalidBucketProps, p.Mirror.Copies)
	}
	if p.EC.Data < 1 || p.EC.Data > 32 || p.EC.Parity < 1 || p.EC.Parity > 32 {
		return fmt.Errorf("%w: ec.data %d and ec.parity %d must each be 1 to 32",
			ErrInvalidBucketProps, p.EC.Data, p.EC.Parity)
	}
	if p.EC.ObjSizeLimit < 0 {
		return fmt.Errorf("%w: ec.objsize_limit must not be negative", ErrInvalidBucketProps)
	}
	switch p.S3Versioning {
	case "", "Enabled", "Suspended":
	default:
		return fmt.Errorf("%w: s3_versioning %q: use Enabled or Suspended", ErrInvalidBucketProps, p.S3Versioning)
	}
	return nil
}

// Patch applies a JSON merge document (RFC 7396 style, e.g. {"checksum":{"type":"md5"}}) to p
// and validates the result. Unknown keys are an error naming the key.
func (p BucketProps) Patch(doc []byte) (BucketProps, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("%w: %v", ErrInvalidBucketProps, strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// Bucket name rules: 3 to 63 characters of lowercase letters, digits, '-', '_' and '.',
// starting and ending with a letter or digit, with no "..". They are stricter than a file name
// and compatible with S3's path-style names.
const (
	MinBucketNameLen = 3
	MaxBucketNameLen = 63
)

// ValidateBucketName returns an error naming the rule that name breaks.
func ValidateBucketName(name string) error {
	bad := func(rule string) error {
		return fmt.Errorf("%w: %q: %s", ErrInvalidBucketName, name, rule)
	}
	if len(name) < MinBucketNameLen || len(name) > MaxBucketNameLen {
		return bad(fmt.Sprintf("must be %d to %d characters long", MinBucketNameLen, MaxBucketNameLen))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.':
			if i == 0 || i == len(name)-1 {
				return bad("must start and end with a lowercase letter or digit")
			}
		default:
			return bad("may hold only lowercase letters, digits, '-', '_' and '.'")
		}
	}
	if strings.Contains(name, "..") {
		return bad(`must not contain ".."`)
	}
	return nil
}
