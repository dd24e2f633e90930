package main

import (
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/codec"
	"github.com/aisfoundry/ais/meta"
)

// sendReader is a PUT body that hashes what it yields and counts it on a progress line. When
// the api client sends the body again from the start (a redirect, a retry), the hash and the
// count start over.
type sendReader struct {
	r     io.Reader
	typ   string    // checksum type; "" or none: no hash
	h     hash.Hash // nil without a checksum
	n     int64
	p     *progress
	dirty bool // the reader was moved somewhere other than its start: the hash is unusable
}

func newSendReader(r io.Reader, typ string, p *progress) (*sendReader, error) {
	s := &sendReader{r: r, typ: typ, p: p}
	if typ != "" && typ != meta.ChecksumNone {
		h, err := codec.NewHash(typ)
		if err != nil {
			return nil, err
		}
		s.h = h
	}
	return s, nil
}

func (s *sendReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if n > 0 {
		if s.h != nil {
			s.h.Write(b[:n])
		}
		s.n += int64(n)
		s.p.add(int64(n))
	}
	return n, err
}

// restart forgets what was read, for a body sent again from its start.
func (s *sendReader) restart(atStart bool) {
	if s.h != nil {
		s.h.Reset()
	}
	s.p.add(-s.n)
	s.n = 0
	s.dirty = !atStart
}

// sum is the checksum of everything read, or "" when there is none to compare.
func (s *sendReader) sum() string {
	if s.h == nil || s.dirty {
		return ""
	}
	return hex.EncodeToString(s.h.Sum(nil))
}

// seekingSendReader is a sendReader over an io.Seeker, so the api client can rewind it.
type seekingSendReader struct {
	*sendReader
	s     io.Seeker
	start int64
}

// body returns the reader to hand to PutObject: seekable if the source is.
func (s *sendReader) body() io.Reader {
	if sk, ok := s.r.(io.Seeker); ok {
		if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
			return &seekingSendReader{sendReader: s, s: sk, start: pos}
		}
	}
	return s
}

func (s *seekingSendReader) Seek(off int64, whence int) (int64, error) {
	pos, err := s.s.Seek(off, whence)
	if err != nil || (whence == io.SeekCurrent && off == 0) {
		return pos, err
	}
	s.restart(pos == s.start)
	return pos, nil
}

// checkPut compares the checksum the cluster stored with the one computed while sending.
func checkPut(u uri, sent *sendReader, a *api.ObjectAttrs) error {
	got := sent.sum()
	if got == "" || a == nil || a.ChecksumType != sent.typ || a.ChecksumValue == "" {
		return nil
	}
	if !hexEqual(got, a.ChecksumValue) {
		return fmt.Errorf("%w: stored %q, but its %s checksum on the cluster is %s while the bytes read here give %s; upload it again",
			errChecksum, u.String(), a.ChecksumType, a.ChecksumValue, got)
	}
	return nil
}

func hexEqual(a, b string) bool {
	x, err1 := hex.DecodeString(a)
	y, err2 := hex.DecodeString(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// receive copies an object's body to w while computing its checksum, and checks it against
// the checksum the cluster sent (whole objects only: a range has no checksum of its own).
func receive(u uri, w io.Writer, body io.Reader, a *api.ObjectAttrs, whole bool, p *progress) (int64, error) {
	var h hash.Hash
	if whole && a.ChecksumValue != "" && a.ChecksumType != "" && a.ChecksumType != meta.ChecksumNone {
		var err error
		if h, err = codec.NewHash(a.ChecksumType); err != nil {
			return 0, fmt.Errorf("%q has checksum type %q, which this ais cannot verify; update ais", u.String(), a.ChecksumType)
		}
		w = io.MultiWriter(w, h)
	}
	n, err := io.Copy(w, &countReader{r: body, p: p})
	if err != nil {
		return n, objectErr(u, fmt.Errorf("download %s: %w", u, err))
	}
	if whole && a.Size >= 0 && n != a.Size {
		return n, fmt.Errorf("download of %q ended after %d of %d bytes; try again", u.String(), n, a.Size)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); !hexEqual(got, a.ChecksumValue) {
			return n, fmt.Errorf("%w for %q: the cluster sent %s %s, the bytes received give %s; try again, and if it fails again the stored object is damaged (ais get --validate asks the target to check it)",
				errChecksum, u.String(), a.ChecksumType, a.ChecksumValue, got)
		}
	}
	return n, nil
}

// countReader counts bytes read on a progress line.
type countReader struct {
	r io.Reader
	p *progress
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(int64(n))
	return n, err
}

// writeFile creates path (and its directory) from fill, through a temporary file in the same
// directory renamed into place only when fill succeeds, so a failed or corrupt download
// never leaves a partial file behind.
func writeFile(path string, fill func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".ais-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
