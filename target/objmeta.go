package target

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"

	"github.com/aisfoundry/ais/meta"
)

// xattrMeta is the extended attribute that holds an object's metadata record.
const xattrMeta = "user.ais.meta"

// Object metadata record versions. The record is stored in xattrMeta; its first byte is the
// version.
//
//	1 (2025-06): bucket ID, size, version, mtime, checksum type and value, full name, custom
//	  metadata; CRC-32C of the whole record at the end.
//	2 (2026-11): version 1 with the write epoch (8 bytes) after the mtime; it orders copies
//	  of an object across targets (docs/rebalance.md). Version 1 records read as epoch 0.
//	3 (2026-11): version 2 plus, after the custom metadata, the EC layout (ECInfo: data,
//	  parity, block as uvarints, then a flags byte, bit 0 = sliced). Written only for
//	  objects of EC buckets; others write version 2.
const (
	objMetaV1 = 1
	objMetaV2 = 2
	objMetaV3 = 3
)

// maxObjMetaLen bounds a record so that it fits in one xattr on common file systems (ext4
// allows about one block for all of a file's attributes).
const maxObjMetaLen = 3800

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ObjectMeta is what the target knows about a stored object besides its bytes.
type ObjectMeta struct {
	Name         string // the full object name (the file name may be hashed)
	BucketID     uint64 // the ID of the bucket the object was written into
	Size         int64
	Version      uint64 // counts up from 1 per object
	Mtime        int64  // Unix nanoseconds of the write
	Epoch        uint64 // the cluster epoch at which the write was accepted (0: unknown, v1 record)
	ChecksumType string // meta.Checksum*; "none" means Checksum is empty
	Checksum     []byte
	Custom       map[string]string
	EC           *ECInfo // the EC layout of an object of an EC bucket (ec_meta.go); nil otherwise
}

// ChecksumHex is the checksum value in hex ("" when there is none).
func (m *ObjectMeta) ChecksumHex() string { return hex.EncodeToString(m.Checksum) }

// ETag is the quoted entity tag: the checksum, or the version when the bucket keeps none.
func (m *ObjectMeta) ETag() string {
	if len(m.Checksum) == 0 {
		return `"v` + strconv.FormatUint(m.Version, 10) + `"`
	}
	return `"` + m.ChecksumHex() + `"`
}

// encodeObjMeta serializes m as a version 3 record if it has an EC layout, else version 2.
func encodeObjMeta(m *ObjectMeta) ([]byte, error) {
	b := make([]byte, 0, 72+len(m.Name)+len(m.Checksum)+len(m.ChecksumType))
	if m.EC != nil {
		b = append(b, objMetaV3)
	} else {
		b = append(b, objMetaV2)
	}
	b = binary.BigEndian.AppendUint64(b, m.BucketID)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Size))
	b = binary.BigEndian.AppendUint64(b, m.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Mtime))
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	b = appendBytes(b, []byte(m.ChecksumType))
	b = appendBytes(b, m.Checksum)
	b = appendBytes(b, []byte(m.Name))
	keys := make([]string, 0, len(m.Custom))
	for k := range m.Custom {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, []byte(k))
		b = appendBytes(b, []byte(m.Custom[k]))
	}
	if m.EC != nil {
		b = m.EC.append(b)
	}
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	if len(b) > maxObjMetaLen {
		return nil, fmt.Errorf("%w: object metadata of %q is %d bytes; the limit is %d",
			meta.ErrInvalidRequest, m.Name, len(b), maxObjMetaLen)
	}
	return b, nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// errBadRecord is the cause of every decode failure; it is wrapped together with
// meta.ErrCorrupt.
var errBadRecord = errors.New("malformed object metadata record")

// decodeObjMeta parses a record. Any damage (bad checksum, truncation, unknown version) is
// meta.ErrCorrupt.
func decodeObjMeta(b []byte) (*ObjectMeta, error) {
	corrupt := func(why string) error {
		return fmt.Errorf("%w: %w: %s", meta.ErrCorrupt, errBadRecord, why)
	}
	if len(b) < 1+32+4 {
		return nil, corrupt(fmt.Sprintf("%d bytes is too short", len(b)))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, corrupt("checksum mismatch")
	}
	if body[0] != objMetaV1 && body[0] != objMetaV2 && body[0] != objMetaV3 {
		return nil, corrupt(fmt.Sprintf("unknown version %d", body[0]))
	}
	m := &ObjectMeta{
		BucketID: binary.BigEndian.Uint64(body[1:]),
		Size:     int64(binary.BigEndian.Uint64(body[9:])),
		Version:  binary.BigEndian.Uint64(body[17:]),
		Mtime:    int64(binary.BigEndian.Uint64(body[25:])),
	}
	r := body[33:]
	if body[0] >= objMetaV2 {
		if len(r) < 8 {
			return nil, corrupt("truncated epoch")
		}
		m.Epoch, r = binary.BigEndian.Uint64(r), r[8:]
	}
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
	val, ok2 := next()
	name, ok3 := next()
	if !ok1 || !ok2 || !ok3 {
		return nil, corrupt("truncated field")
	}
	m.ChecksumType, m.Name = string(typ), string(name)
	if len(val) > 0 {
		m.Checksum = append([]byte(nil), val...)
	}
	count, k := binary.Uvarint(r)
	if k <= 0 || count > uint64(len(r)) {
		return nil, corrupt("bad custom metadata count")
	}
	r = r[k:]
	if count > 0 {
		m.Custom = make(map[string]string, count)
	}
	for i := uint64(0); i < count; i++ {
		key, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 {
			return nil, corrupt("truncated custom metadata")
		}
		m.Custom[string(key)] = string(v)
	}
	if body[0] == objMetaV3 {
		if m.EC, r = parseECInfo(r); m.EC == nil {
			return nil, corrupt("bad EC layout")
		}
	}
	if len(r) != 0 {
		return nil, corrupt(fmt.Sprintf("%d trailing bytes", len(r)))
	}
	if m.Size < 0 || !meta.ValidChecksumType(m.ChecksumType) {
		return nil, corrupt("invalid size or checksum type")
	}
	return m, nil
}
