package codec

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/aisfoundry/ais/meta"
)

// Slice record versions. A slice record describes one EC slice or whole replica as stored on
// a target (in the file's xattr) and as it travels (in a header): which object it belongs to
// (bucket ID, name, size, version, mtime, checksum, custom metadata) and where it sits in the
// layout.
//
//	1 (2026-11): version, kind, index, data, parity, block, bucket ID, object size, version,
//	  mtime, object checksum type and value, slice checksum (HighwayHash-256 of the slice's
//	  bytes), name, custom metadata; CRC-32C of the whole record at the end.
const sliceRecordV1 = 1

// Kinds of slice record.
const (
	KindSlice   = 1 // one of D+P Reed-Solomon slices
	KindReplica = 2 // a whole copy of a small object
)

// SliceMeta is the record of one slice or replica.
type SliceMeta struct {
	Kind                int
	Index               int // 0..D-1 data, D..D+P-1 parity; 0 for a replica
	Data, Parity, Block int
	BucketID            uint64
	Name                string
	ObjSize             int64
	ObjVersion          uint64
	ObjMtime            int64
	ObjChecksumType     string
	ObjChecksum         []byte
	SliceChecksum       []byte // HighwayHash-256 of the stored bytes
	Custom              map[string]string
}

// SameObject reports whether two records describe slices of the same write of an object.
func (m *SliceMeta) SameObject(o *SliceMeta) bool {
	return m.BucketID == o.BucketID && m.Name == o.Name && m.ObjSize == o.ObjSize &&
		m.ObjVersion == o.ObjVersion && m.ObjMtime == o.ObjMtime && string(m.ObjChecksum) == string(o.ObjChecksum) &&
		m.Data == o.Data && m.Parity == o.Parity && m.Block == o.Block && m.Kind == o.Kind
}

// StoredSize is the number of bytes the slice or replica holds.
func (m *SliceMeta) StoredSize() int64 {
	if m.Kind == KindReplica {
		return m.ObjSize
	}
	return SliceSize(m.ObjSize, m.Data, m.Block)
}

var sliceCRC = crc32.MakeTable(crc32.Castagnoli)

// EncodeSliceMeta serializes m.
func EncodeSliceMeta(m *SliceMeta) []byte {
	b := make([]byte, 0, 128+len(m.Name))
	b = append(b, sliceRecordV1, byte(m.Kind))
	for _, v := range []int{m.Index, m.Data, m.Parity, m.Block} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.BigEndian.AppendUint64(b, m.BucketID)
	b = binary.BigEndian.AppendUint64(b, uint64(m.ObjSize))
	b = binary.BigEndian.AppendUint64(b, m.ObjVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(m.ObjMtime))
	b = appendField(b, []byte(m.ObjChecksumType))
	b = appendField(b, m.ObjChecksum)
	b = appendField(b, m.SliceChecksum)
	b = appendField(b, []byte(m.Name))
	keys := make([]string, 0, len(m.Custom))
	for k := range m.Custom {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendField(b, []byte(k))
		b = appendField(b, []byte(m.Custom[k]))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, sliceCRC))
}

func appendField(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// DecodeSliceMeta parses a record; any damage is meta.ErrCorrupt.
func DecodeSliceMeta(b []byte) (*SliceMeta, error) {
	corrupt := func(why string) (*SliceMeta, error) {
		return nil, fmt.Errorf("codec: %w: slice record: %s", meta.ErrCorrupt, why)
	}
	if len(b) < 2+4+32+4 {
		return corrupt("too short")
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, sliceCRC) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return corrupt("checksum mismatch")
	}
	if body[0] != sliceRecordV1 {
		return corrupt(fmt.Sprintf("unknown version %d", body[0]))
	}
	m := &SliceMeta{Kind: int(body[1])}
	r := body[2:]
	uv := func() (int, bool) {
		v, k := binary.Uvarint(r)
		if k <= 0 || v > 1<<31 {
			return 0, false
		}
		r = r[k:]
		return int(v), true
	}
	var ok [4]bool
	m.Index, ok[0] = uv()
	m.Data, ok[1] = uv()
	m.Parity, ok[2] = uv()
	m.Block, ok[3] = uv()
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] || len(r) < 32 {
		return corrupt("truncated layout")
	}
	m.BucketID = binary.BigEndian.Uint64(r)
	m.ObjSize = int64(binary.BigEndian.Uint64(r[8:]))
	m.ObjVersion = binary.BigEndian.Uint64(r[16:])
	m.ObjMtime = int64(binary.BigEndian.Uint64(r[24:]))
	r = r[32:]
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(r)
		if k <= 0 || n > uint64(len(r)-k) {
			return nil, false
		}
		v := r[k : k+int(n)]
		r = r[k+int(n):]
		return v, true
	}
	typ, ok1 := next()
	osum, ok2 := next()
	ssum, ok3 := next()
	name, ok4 := next()
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return corrupt("truncated field")
	}
	m.ObjChecksumType, m.Name = string(typ), string(name)
	m.ObjChecksum = append([]byte(nil), osum...)
	m.SliceChecksum = append([]byte(nil), ssum...)
	count, k := binary.Uvarint(r)
	if k <= 0 || count > uint64(len(r)) {
		return corrupt("bad custom metadata count")
	}
	r = r[k:]
	if count > 0 {
		m.Custom = make(map[string]string, count)
	}
	for i := uint64(0); i < count; i++ {
		key, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 {
			return corrupt("truncated custom metadata")
		}
		m.Custom[string(key)] = string(v)
	}
	if len(r) != 0 {
		return corrupt("trailing bytes")
	}
	switch {
	case m.Kind != KindSlice && m.Kind != KindReplica:
		return corrupt(fmt.Sprintf("unknown kind %d", m.Kind))
	case m.ObjSize < 0:
		return corrupt("negative size")
	case m.Kind == KindSlice && (checkLayout(m.Data, m.Parity, m.Block) != nil || m.Index >= m.Data+m.Parity):
		return corrupt("bad layout")
	}
	return m, nil
}
