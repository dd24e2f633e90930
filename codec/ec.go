package codec

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/reedsolomon"

	"github.com/aisfoundry/ais/meta"
)

// Erasure coding splits an object into D data and P parity slices, in stripes: each full
// stripe takes D*Block bytes of the object and adds Block bytes to every slice; the last,
// shorter stripe of R bytes adds ceil(R/D) bytes to every slice (its data zero-padded). So a
// slice holds SliceSize(size, D, Block) bytes, the padding is under D bytes per object, and
// encoding and decoding hold (D+P)*Block bytes of memory whatever the object's size.

// DefaultBlock is the bytes one stripe adds to each slice.
const DefaultBlock = 128 << 10

// MaxSlices bounds D+P (klauspost/reedsolomon's limit for the default field is 256).
const MaxSlices = 64

// ErrTooFewSlices means fewer than D slices are left: the object cannot be rebuilt.
var ErrTooFewSlices = errors.New("codec: too few slices to rebuild the object")

func checkLayout(data, parity, block int) error {
	if data < 1 || parity < 1 || data+parity > MaxSlices || block < 1 {
		return fmt.Errorf("codec: %w: erasure layout %d+%d with block %d", meta.ErrInvalidRequest, data, parity, block)
	}
	return nil
}

// SliceSize is the length of every slice of an object of size bytes.
func SliceSize(size int64, data, block int) int64 {
	stripe := int64(data) * int64(block)
	full, rem := size/stripe, size%stripe
	return full*int64(block) + (rem+int64(data)-1)/int64(data)
}

// Encoder takes an object's bytes as they arrive (it is an io.Writer) and writes its D data and
// P parity slices to their writers, one stripe at a time. Close flushes the last stripe.
type Encoder struct {
	rs           reedsolomon.Encoder
	data, parity int
	block        int
	out          []io.Writer
	shards       [][]byte // D+P blocks; the data blocks are filled in place
	fill         int      // bytes of the current stripe filled so far
	err          error
}

// NewEncoder returns an encoder writing slice i to slices[i] (len(slices) == data+parity).
func NewEncoder(data, parity, block int, slices []io.Writer) (*Encoder, error) {
	if err := checkLayout(data, parity, block); err != nil {
		return nil, err
	}
	if len(slices) != data+parity {
		return nil, fmt.Errorf("codec: %w: %d slice writers for %d+%d", meta.ErrInvalidRequest, len(slices), data, parity)
	}
	rs, err := reedsolomon.New(data, parity)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	e := &Encoder{rs: rs, data: data, parity: parity, block: block, out: slices}
	e.shards = make([][]byte, data+parity)
	for i := range e.shards {
		e.shards[i] = make([]byte, block)
	}
	return e, nil
}

// Write adds object bytes. An error of a slice writer is returned here and by every later call.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := 0
	stripe := e.data * e.block
	for len(p) > 0 {
		k := min(len(p), stripe-e.fill)
		for c := 0; c < k; {
			i, off := (e.fill+c)/e.block, (e.fill+c)%e.block
			c += copy(e.shards[i][off:], p[c:k])
		}
		e.fill += k
		n += k
		p = p[k:]
		if e.fill == stripe {
			if err := e.flush(e.block); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flush encodes the current stripe with blocks of blk bytes and writes it out.
func (e *Encoder) flush(blk int) error {
	shards := make([][]byte, len(e.shards))
	for i := range shards {
		shards[i] = e.shards[i][:blk]
	}
	if err := e.rs.Encode(shards); err != nil {
		e.err = fmt.Errorf("codec: encode: %w", err)
		return e.err
	}
	for i, w := range e.out {
		if w == nil {
			continue
		}
		if _, err := w.Write(shards[i]); err != nil {
			e.err = fmt.Errorf("codec: write slice %d: %w", i, err)
			return e.err
		}
	}
	e.fill = 0
	return nil
}

// Close encodes the last, short stripe (zero-padded to whole blocks of ceil(R/D) bytes). It
// does not close the slice writers.
func (e *Encoder) Close() error {
	if e.err != nil || e.fill == 0 {
		return e.err
	}
	blk := (e.fill + e.data - 1) / e.data
	// The bytes sit in blocks of Block; the short stripe wants them in blocks of blk.
	flat := make([]byte, e.data*blk)
	for pos := 0; pos < e.fill; {
		i, off := pos/e.block, pos%e.block
		pos += copy(flat[pos:e.fill], e.shards[i][off:])
	}
	for i := 0; i < e.data; i++ {
		copy(e.shards[i][:blk], flat[i*blk:(i+1)*blk])
	}
	return e.flush(blk)
}

// Decode streams an object of size bytes, in order, to w (which may be nil) from its slices:
// slices[i] reads slice i from its start, nil for a lost one. Data slices are copied through;
// a stripe is reconstructed only when a data slice is missing. rebuild[i], if not nil, gets
// slice i as rebuilt (to restore a lost slice); rebuild may be nil. With fewer than data
// slices at hand the error is ErrTooFewSlices (before anything is written); a slice that ends
// early is meta.ErrCorrupt.
func Decode(w io.Writer, size int64, data, parity, block int, slices []io.Reader, rebuild []io.Writer) error {
	if err := checkLayout(data, parity, block); err != nil {
		return err
	}
	if len(slices) != data+parity || (rebuild != nil && len(rebuild) != data+parity) {
		return fmt.Errorf("codec: %w: %d slice readers for %d+%d", meta.ErrInvalidRequest, len(slices), data, parity)
	}
	have, missingData, wantParity := 0, false, false
	for i, r := range slices {
		if r != nil {
			have++
		} else if i < data {
			missingData = true
		}
		if rebuild != nil && rebuild[i] != nil && r == nil && i >= data {
			wantParity = true
		}
		if rebuild != nil && rebuild[i] != nil && r == nil && i < data {
			missingData = true
		}
	}
	if have < data {
		return fmt.Errorf("%w: %d of %d+%d slices", ErrTooFewSlices, have, data, parity)
	}
	rs, err := reedsolomon.New(data, parity)
	if err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	bufs := make([][]byte, data+parity)
	for i := range bufs {
		bufs[i] = make([]byte, block)
	}
	shards := make([][]byte, data+parity)
	stripe := int64(data) * int64(block)
	for left := size; left > 0; {
		n := min(left, stripe)
		blk := int((n + int64(data) - 1) / int64(data))
		for i := range shards {
			shards[i] = nil
			r := slices[i]
			if r == nil || (!missingData && !wantParity && i >= data) {
				continue // lost, or parity not needed for this decode
			}
			if _, err := io.ReadFull(r, bufs[i][:blk]); err != nil {
				return fmt.Errorf("codec: %w: slice %d ends early: %v", meta.ErrCorrupt, i, err)
			}
			shards[i] = bufs[i][:blk]
		}
		if missingData || wantParity {
			fix := rs.ReconstructData
			if wantParity {
				fix = rs.Reconstruct
			}
			for i := range shards {
				if shards[i] == nil {
					shards[i] = bufs[i][:0]
				}
			}
			if err := fix(shards); err != nil {
				return fmt.Errorf("codec: reconstruct: %w", err)
			}
		}
		for i := range rebuild {
			if rebuild[i] != nil && slices[i] == nil && len(shards[i]) == blk {
				if _, err := rebuild[i].Write(shards[i]); err != nil {
					return fmt.Errorf("codec: write rebuilt slice %d: %w", i, err)
				}
			}
		}
		if w != nil {
			rem := n
			for i := 0; i < data && rem > 0; i++ {
				k := min(int64(blk), rem)
				if _, err := w.Write(shards[i][:k]); err != nil {
					return err
				}
				rem -= k
			}
		}
		left -= n
	}
	return nil
}
