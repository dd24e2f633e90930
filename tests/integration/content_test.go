package integration

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// body is a deterministic object body: size bytes from a ChaCha8 stream seeded by seed, so a
// test can PUT gigabytes and compare them later without holding them in memory.
type body struct {
	name string
	size int64
	seed uint64
}

func (b body) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], b.seed)
	copy(key[8:], b.name)
	return io.LimitReader(rand.NewChaCha8(key), b.size)
}

// bytes returns the whole body (for small bodies and ranges).
func (b body) bytes() []byte {
	out, _ := io.ReadAll(b.reader())
	return out
}

// compare reads r to the end and reports the first difference from the body.
func (b body) compare(r io.Reader) error {
	want := b.reader()
	bufA, bufB := make([]byte, 256<<10), make([]byte, 256<<10)
	var off int64
	for {
		n, errA := io.ReadFull(r, bufA)
		m, _ := io.ReadFull(want, bufB[:n])
		if m != n || !bytes.Equal(bufA[:n], bufB[:n]) {
			return fmt.Errorf("%s: bytes differ within [%d, %d)", b.name, off, off+int64(n))
		}
		off += int64(n)
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			break
		}
		if errA != nil {
			return fmt.Errorf("%s: read at %d: %w", b.name, off, errA)
		}
	}
	if off != b.size {
		return fmt.Errorf("%s: got %d bytes, want %d", b.name, off, b.size)
	}
	return nil
}

// logUniformSize draws a size from 0 to max with a log-uniform spread (many small objects, some
// large ones, as in real datasets), with 0 and max themselves included by the caller.
func logUniformSize(r *rand.Rand, max int64) int64 {
	if r.IntN(20) == 0 {
		return r.Int64N(16)
	}
	bits := 4 + r.Float64()*float64(63-leadingZeros(max)-4)
	v := int64(1) << int(bits)
	return min(max, v+r.Int64N(v))
}

func leadingZeros(x int64) int {
	n := 0
	for i := 62; i >= 0 && x&(1<<i) == 0; i-- {
		n++
	}
	return n + 1
}
