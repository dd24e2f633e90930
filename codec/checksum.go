package codec

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"

	"github.com/minio/highwayhash"

	"github.com/aisfoundry/ais/meta"
)

// HighwayKey is the fixed 32-byte key of every HighwayHash-256 object checksum. It is part of
// the on-disk and wire format: changing it changes every stored checksum, so it never changes.
// It is the ASCII text "AIS-HighwayHash-256-checksum-key".
var HighwayKey = [32]byte{
	'A', 'I', 'S', '-', 'H', 'i', 'g', 'h', 'w', 'a', 'y', 'H', 'a', 's', 'h', '-',
	'2', '5', '6', '-', 'c', 'h', 'e', 'c', 'k', 's', 'u', 'm', '-', 'k', 'e', 'y',
}

var crc32cTable = crc32.MakeTable(crc32.Castagnoli)

// NewHash returns a hasher for a checksum type (meta.ChecksumHighway, ...). For
// meta.ChecksumNone it returns (nil, nil): there is nothing to compute. An unknown type is
// meta.ErrInvalidRequest.
func NewHash(typ string) (hash.Hash, error) {
	switch typ {
	case meta.ChecksumHighway:
		return highwayhash.New(HighwayKey[:])
	case meta.ChecksumMD5:
		return md5.New(), nil
	case meta.ChecksumCRC32C:
		return crc32.New(crc32cTable), nil
	case meta.ChecksumSHA256:
		return sha256.New(), nil
	case meta.ChecksumNone:
		return nil, nil
	}
	return nil, fmt.Errorf("codec: checksum type %q: %w", typ, meta.ErrInvalidRequest)
}

// Size is the length in bytes of a checksum of type typ (0 for none or an unknown type).
func Size(typ string) int {
	switch typ {
	case meta.ChecksumHighway, meta.ChecksumSHA256:
		return 32
	case meta.ChecksumMD5:
		return 16
	case meta.ChecksumCRC32C:
		return 4
	}
	return 0
}

// ParseValue decodes a hex checksum value of type typ (upper or lower case) and checks its
// length. A malformed value is meta.ErrInvalidRequest.
func ParseValue(typ, value string) ([]byte, error) {
	if !meta.ValidChecksumType(typ) {
		return nil, fmt.Errorf("codec: checksum type %q: %w", typ, meta.ErrInvalidRequest)
	}
	b, err := hex.DecodeString(strings.TrimSpace(value))
	if err != nil || len(b) != Size(typ) {
		return nil, fmt.Errorf("codec: %s checksum %q: want %d bytes of hex: %w",
			typ, value, Size(typ), meta.ErrInvalidRequest)
	}
	return b, nil
}
