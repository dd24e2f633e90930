package meta

import (
	"fmt"
	"sort"
)

// User is a principal of the S3 API: it holds access keys and owns the buckets it created.
type User struct {
	Name    string `json:"name"`
	Created int64  `json:"created"` // Unix nanoseconds, stamped by the proposer
}

// AccessKey is an S3 access key pair. The secret is part of the replicated state and of the
// full snapshot that gateways and targets fetch from meta's control API; Snapshot.Public and
// every listing leave it out.
type AccessKey struct {
	ID      string `json:"id"`
	Secret  string `json:"secret,omitempty"`
	User    string `json:"user"`
	Created int64  `json:"created"` // Unix nanoseconds, stamped by the proposer
}

// Access key ID and secret shapes: IDs are 20 characters of A-Z and 0-9 (as AWS's), secrets
// 40 characters of the base64 alphabet.
const (
	AccessKeyIDLen     = 20
	AccessKeySecretLen = 40
	MaxUserNameLen     = 64
)

var (
	ErrUserNotFound      = newErr(KindNotExist, "user does not exist")
	ErrUserExists        = newErr(KindExist, "user already exists")
	ErrAccessKeyNotFound = newErr(KindNotExist, "access key does not exist")
	ErrAccessKeyExists   = newErr(KindExist, "access key already exists")
)

// ValidateUserName checks a user name: 1 to 64 letters, digits, '-', '_', '.', '@'.
func ValidateUserName(name string) error {
	if name == "" || len(name) > MaxUserNameLen {
		return fmt.Errorf("%w: user name must be 1 to %d characters", ErrInvalidRequest, MaxUserNameLen)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '@') {
			return fmt.Errorf("%w: user name %q may hold only letters, digits, '-', '_', '.' and '@'", ErrInvalidRequest, name)
		}
	}
	return nil
}

// ValidateAccessKeyID checks the shape of an access key ID: 20 characters of A-Z and 0-9.
func ValidateAccessKeyID(id string) error {
	if len(id) != AccessKeyIDLen {
		return fmt.Errorf("%w: access key ID must be %d characters", ErrInvalidRequest, AccessKeyIDLen)
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: access key ID may hold only A-Z and 0-9", ErrInvalidRequest)
		}
	}
	return nil
}

// Validate checks the shape of an access key.
func (k *AccessKey) Validate() error {
	if err := ValidateAccessKeyID(k.ID); err != nil {
		return err
	}
	if len(k.Secret) != AccessKeySecretLen {
		return fmt.Errorf("%w: secret access key must be %d characters", ErrInvalidRequest, AccessKeySecretLen)
	}
	for _, c := range k.Secret {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return fmt.Errorf("%w: secret access key may hold only the base64 alphabet", ErrInvalidRequest)
		}
	}
	return ValidateUserName(k.User)
}

// SortedUsers returns the users sorted by name.
func (s *Snapshot) SortedUsers() []User {
	out := make([]User, 0, len(s.Users))
	for _, u := range s.Users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SortedAccessKeys returns the access keys sorted by user, then ID, without their secrets.
func (s *Snapshot) SortedAccessKeys() []AccessKey {
	out := make([]AccessKey, 0, len(s.AccessKeys))
	for _, k := range s.AccessKeys {
		k.Secret = ""
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].ID < out[j].ID
	})
	return out
}
