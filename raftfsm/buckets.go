package raftfsm

import (
	"bytes"
	"encoding/hex"

	"github.com/aisfoundry/ais/meta"
)

func bucketProvider(c Command) (meta.Provider, Result, bool) {
	switch c.Provider {
	case "", meta.ProviderAIS:
		return meta.ProviderAIS, Result{}, true
	}
	return "", failed("raftfsm: bucket %s: %w: provider %q is not supported", c.Bucket, meta.ErrInvalidRequest, c.Provider), false
}

// bucketCreate adds a bucket with the default properties patched by c.Patch. Its ID is the
// log index of the command, so a bucket created again under the same name gets a new ID.
func (m *Machine) bucketCreate(index uint64, c Command) Result {
	p, r, ok := bucketProvider(c)
	if !ok {
		return r
	}
	if err := meta.ValidateBucketName(c.Bucket); err != nil {
		return failed("raftfsm: create bucket: %w", err)
	}
	key := meta.BucketKey(p, c.Bucket)
	if _, exists := m.view.Buckets[key]; exists {
		return failed("raftfsm: create bucket %s: %w", key, meta.ErrBucketExists)
	}
	props, err := meta.DefaultBucketProps().Patch(c.Patch)
	if err != nil {
		return failed("raftfsm: create bucket %s: %w", key, err)
	}
	b := meta.Bucket{Provider: p, Name: c.Bucket, ID: index, Created: c.Time, Owner: c.Owner, Props: props}
	m.change(func(s *meta.Snapshot) { s.Buckets[key] = b })
	return Result{Changed: true, Bucket: &b}
}

// bucketDestroy removes a bucket.
func (m *Machine) bucketDestroy(c Command) Result {
	p, r, ok := bucketProvider(c)
	if !ok {
		return r
	}
	key := meta.BucketKey(p, c.Bucket)
	b, exists := m.view.Buckets[key]
	if !exists {
		return failed("raftfsm: destroy bucket %s: %w", key, meta.ErrBucketNotFound)
	}
	m.change(func(s *meta.Snapshot) { delete(s.Buckets, key) })
	return Result{Changed: true, Bucket: &b}
}

// bucketProps applies a merge document to a bucket's properties.
func (m *Machine) bucketProps(c Command) Result {
	p, r, ok := bucketProvider(c)
	if !ok {
		return r
	}
	key := meta.BucketKey(p, c.Bucket)
	b, exists := m.view.Buckets[key]
	if !exists {
		return failed("raftfsm: set bucket %s properties: %w", key, meta.ErrBucketNotFound)
	}
	props, err := b.Props.Patch(c.Patch)
	if err != nil {
		return failed("raftfsm: set bucket %s properties: %w", key, err)
	}
	if props == b.Props {
		return Result{Bucket: &b}
	}
	b.Props = props
	m.change(func(s *meta.Snapshot) { s.Buckets[key] = b })
	return Result{Changed: true, Bucket: &b}
}

// configSet applies a merge document to the cluster config.
func (m *Machine) configSet(c Command) Result {
	if len(bytes.TrimSpace(c.Patch)) == 0 {
		return Result{}
	}
	cfg, err := m.view.Config.Patch(c.Patch)
	if err != nil {
		return failed("raftfsm: set config: %w", err)
	}
	if cfg == m.view.Config {
		return Result{}
	}
	m.change(func(s *meta.Snapshot) { s.Config = cfg })
	return Result{Changed: true}
}

// SigningKeyLen is the length of the signing key in hex digits (32 random bytes).
const SigningKeyLen = 64

// configInitKey sets the signing key if the cluster has none yet; the first leader proposes
// it, and a second proposal (from a leader elected meanwhile) changes nothing.
func (m *Machine) configInitKey(c Command) Result {
	if _, err := hex.DecodeString(c.Key); err != nil || len(c.Key) != SigningKeyLen {
		return failed("raftfsm: init signing key: %w: want %d hex digits", meta.ErrInvalidConfig, SigningKeyLen)
	}
	if m.view.Config.SigningKey != "" {
		return Result{}
	}
	m.change(func(s *meta.Snapshot) { s.Config.SigningKey = c.Key })
	return Result{Changed: true}
}
