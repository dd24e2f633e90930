package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
)

// patternLen is the period of the content pattern: a bit over 1 MiB and odd, so that objects
// of power-of-two sizes do not start their repeats at the same offsets.
const patternLen = 1<<20 + 4099

// pattern is the content of every object the bench writes: byte i of object o is
// buf[(start(o)+i) % patternLen], with start(o) taken from a hash of the name. A reader can
// check any range of any object without anything stored on the side, and no request needs a
// buffer of the object's size.
type pattern struct {
	buf []byte
}

func newPattern() *pattern {
	p := &pattern{buf: make([]byte, patternLen)}
	x := uint64(0x9e3779b97f4a7c15)
	for i := range p.buf {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p.buf[i] = byte(x >> 24)
	}
	return p
}

// start is where name's content begins in the pattern.
func (p *pattern) start(name string) int { return int(xxhash.Sum64String(name) % patternLen) }

// sizeOf is the size of name when sizes range over [lo, hi]: fixed by the name, so a reader
// knows what a writer wrote.
func sizeOf(name string, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(xxhash.Sum64String("size/"+name)%uint64(hi-lo+1))
}

// patReader yields one object's content. It is an io.Seeker, so a client can send it again
// (after a redirect or a retry). A worker keeps one and resets it for each request.
type patReader struct {
	p     *pattern
	start int
	size  int64
	pos   int64
}

func (r *patReader) reset(p *pattern, name string, size int64) {
	*r = patReader{p: p, start: p.start(name), size: size}
}

func (r *patReader) Read(b []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	i := int((int64(r.start) + r.pos) % patternLen)
	n := min(int64(len(b)), r.size-r.pos, int64(patternLen-i))
	copy(b, r.p.buf[i:i+int(n)])
	r.pos += n
	return int(n), nil
}

func (r *patReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.size
	default:
		return 0, errors.New("patReader: bad whence")
	}
	if off < 0 {
		return 0, errors.New("patReader: negative position")
	}
	r.pos = off
	return off, nil
}

// errVerify is a GET whose bytes differ from what the bench wrote.
var errVerify = errors.New("content differs from what was written")

// checker compares a stream of bytes, chunk by chunk, with an object's content from offset on.
type checker struct {
	p     *pattern
	start int
	pos   int64
}

func (c *checker) reset(p *pattern, name string, offset int64) {
	*c = checker{p: p, start: p.start(name), pos: offset}
}

func (c *checker) check(b []byte) error {
	for len(b) > 0 {
		i := int((int64(c.start) + c.pos) % patternLen)
		n := min(len(b), patternLen-i)
		if !bytes.Equal(b[:n], c.p.buf[i:i+n]) {
			return fmt.Errorf("%w (at byte %d)", errVerify, c.pos)
		}
		b = b[n:]
		c.pos += int64(n)
	}
	return nil
}
