package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"crypto/sha1"

	"github.com/aisfoundry/ais/meta"
)

// The body of an S3 write reaches the target through readers that check it as it streams:
// the payload's SHA-256 (x-amz-content-sha256), the aws-chunked framing with its chunk
// signatures and trailing checksum. A check can only fail at the end, when most bytes have
// gone on, so the reader in front of the target (holdBack) keeps the last byte back until the
// checks passed: a body that fails them never reaches its Content-Length at the target, which
// then refuses the write, and nothing is stored.

// s3Body is a request body on its way to a target.
type s3Body struct {
	r    io.Reader
	size int64 // decoded length
	// trailerSum names the S3 checksum algorithm that arrives in a trailer (the target
	// computes and keeps it; the trailer value is checked here).
	trailerSum string

	mu   sync.Mutex
	err  error // the first failure other than EOF
	read bool  // any byte was asked for
}

func (b *s3Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.read = true
	b.mu.Unlock()
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// failed returns the first failure of the body, if any.
func (b *s3Body) failed() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *s3Body) touched() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}

// newS3Body sets up the checks of a request's payload for its signature mode. sv is nil for
// an anonymous request.
func newS3Body(r *http.Request, sv *sigV4, maxChunk int) (*s3Body, error) {
	mode := unsignedPayload
	if sv != nil {
		mode = sv.payloadHash
	} else if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		mode = v
	}
	var src io.Reader = &clientBody{r: r.Body}
	switch mode {
	case unsignedPayload:
		if r.ContentLength < 0 {
			return nil, errS3MissingLength
		}
		return &s3Body{r: src, size: r.ContentLength}, nil
	case streamingSigned, streamingSignedTrailer, streamingUnsignedTrail:
		if !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") && r.Header.Get("X-Amz-Decoded-Content-Length") == "" {
			return nil, fmt.Errorf("%w: x-amz-content-sha256 %s needs Content-Encoding: aws-chunked", errS3InvalidArgument, mode)
		}
		size, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%w: x-amz-decoded-content-length is required with aws-chunked", errS3MissingLength)
		}
		signed := mode != streamingUnsignedTrail
		if signed && (sv == nil || sv.presigned) {
			return nil, fmt.Errorf("%w: %s needs a signed Authorization header", errS3InvalidRequest, mode)
		}
		cr := &chunkedReader{br: bufio.NewReaderSize(src, 64<<10), signed: signed, sv: sv, want: size, maxChunk: maxChunk}
		if signed {
			cr.prevSig = sv.signature
		}
		body := &s3Body{size: size}
		if mode != streamingSigned {
			name := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer")))
			if name != "" {
				alg := strings.TrimPrefix(name, "x-amz-checksum-")
				nh := s3Hash(alg)
				if nh == nil || alg == name {
					return nil, fmt.Errorf("%w: x-amz-trailer %q: use x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 or -sha256", errS3InvalidArgument, name)
				}
				cr.trailerName, cr.trailerHash = name, nh()
				body.trailerSum = alg
			}
			cr.trailer = true
		}
		body.r = &holdBack{src: cr}
		return body, nil
	case "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER":
		return nil, fmt.Errorf("%w: SigV4a", errS3NotImplemented)
	}
	want, err := hex.DecodeString(mode)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a SHA-256 in hex", errS3InvalidArgument)
	}
	if r.ContentLength < 0 {
		return nil, errS3MissingLength
	}
	return &s3Body{r: &holdBack{src: &sha256Reader{src: src, h: sha256.New(), want: want}}, size: r.ContentLength}, nil
}

// clientBody turns a failure to read the client's body into IncompleteBody.
type clientBody struct{ r io.Reader }

func (c *clientBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %v", meta.ErrIncompleteBody, err)
	}
	return n, err
}

// sha256Reader checks the payload against x-amz-content-sha256; the mismatch replaces EOF.
type sha256Reader struct {
	src  io.Reader
	h    hash.Hash
	want []byte
}

func (s *sha256Reader) Read(p []byte) (int, error) {
	n, err := s.src.Read(p)
	s.h.Write(p[:n])
	if err == io.EOF {
		if got := s.h.Sum(nil); !bytes.Equal(got, s.want) {
			return n, fmt.Errorf("%w: computed %x", errS3SHA256Mismatch, got)
		}
	}
	return n, err
}

// holdBack passes its source on but keeps the last byte read back until the source returns
// EOF, which it does only after its checks passed.
type holdBack struct {
	src     io.Reader
	pending byte
	has     bool
	eof     bool
	one     [1]byte
}

func (h *holdBack) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if h.eof {
			if h.has {
				p[0], h.has = h.pending, false
				return 1, nil
			}
			return 0, io.EOF
		}
		dst, off := p, 0
		if h.has {
			if len(p) == 1 {
				dst = h.one[:]
			} else {
				p[0], off, dst = h.pending, 1, p[1:]
			}
		}
		n, err := h.src.Read(dst)
		if err != nil && err != io.EOF {
			return 0, err
		}
		h.eof = err == io.EOF
		if h.has && len(p) == 1 {
			if n == 1 {
				p[0], h.pending = h.pending, h.one[0]
				return 1, nil
			}
			continue
		}
		total := off + n
		if h.eof {
			h.has = false
			if total == 0 {
				continue
			}
			return total, nil
		}
		if total == 0 {
			continue
		}
		h.pending, h.has = p[total-1], true
		if total > 1 {
			return total - 1, nil
		}
	}
}

// s3Hash returns the constructor of an S3 checksum algorithm (crc32, crc32c, crc64nvme, sha1,
// sha256), or nil.
func s3Hash(alg string) func() hash.Hash {
	switch alg {
	case "crc32":
		return func() hash.Hash { return crc32.NewIEEE() }
	case "crc32c":
		return func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }
	case "crc64nvme":
		return func() hash.Hash { return crc64.New(crc64NVME) }
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	}
	return nil
}

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n
//	[trailer-name:value\r\n [x-amz-trailer-signature:sig\r\n]] \r\n
//
// checking each chunk's signature (signed modes), the decoded length and the trailing
// checksum. It returns EOF only after every check passed.
type chunkedReader struct {
	br       *bufio.Reader
	signed   bool
	trailer  bool
	sv       *sigV4
	prevSig  string
	want     int64
	got      int64
	maxChunk int

	trailerName string
	trailerHash hash.Hash

	buf  []byte
	off  int
	done bool
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.off == len(c.buf) {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

func (c *chunkedReader) malformed(format string, args ...any) error {
	return fmt.Errorf("%w: aws-chunked body: %s", meta.ErrIncompleteBody, fmt.Sprintf(format, args...))
}

// line reads one CRLF-terminated line (at most 4 KiB) without its CRLF.
func (c *chunkedReader) line() (string, error) {
	var b []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		b = append(b, frag...)
		if err == bufio.ErrBufferFull && len(b) < 4096 {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", c.malformed("%v", err)
		}
		break
	}
	if len(b) > 4096 {
		return "", c.malformed("line too long")
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// next reads the next chunk into buf.
func (c *chunkedReader) next() error {
	hdr, err := c.line()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(hdr, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
	if err != nil || size < 0 {
		return c.malformed("chunk header %q", hdr)
	}
	if size > int64(c.maxChunk) {
		return c.malformed("chunk of %d bytes; the limit is %d", size, c.maxChunk)
	}
	if c.got+size > c.want {
		return c.malformed("more than the %d bytes of x-amz-decoded-content-length", c.want)
	}
	if cap(c.buf) < int(size) {
		c.buf = make([]byte, size)
	}
	c.buf, c.off = c.buf[:size], 0
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		return c.malformed("chunk data: %v", err)
	}
	if size > 0 {
		if crlf, err := c.line(); err != nil || crlf != "" {
			return c.malformed("chunk data is not followed by CRLF")
		}
	}
	if c.signed {
		sig, ok := strings.CutPrefix(strings.TrimSpace(ext), "chunk-signature=")
		if !ok {
			return fmt.Errorf("%w: chunk without chunk-signature", errS3SignatureMismatch)
		}
		if err := c.checkChunk(sig, c.buf); err != nil {
			return err
		}
	}
	if c.trailerHash != nil {
		c.trailerHash.Write(c.buf)
	}
	c.got += size
	if size > 0 {
		return nil
	}
	// The last chunk: trailers, then the end.
	c.done = true
	if err := c.readTrailers(); err != nil {
		return err
	}
	if c.got != c.want {
		return fmt.Errorf("%w: %d bytes of x-amz-decoded-content-length %d", meta.ErrIncompleteBody, c.got, c.want)
	}
	return nil
}

func (c *chunkedReader) checkChunk(sig string, data []byte) error {
	sum := sha256.Sum256(data)
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.sv.amzDate + "\n" + c.sv.scope + "\n" + c.prevSig + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(sum[:])
	want := hex.EncodeToString(hmacSHA256(c.sv.key, []byte(sts)))
	if !hmacEqual(want, sig) {
		return &sigDetail{err: fmt.Errorf("%w: chunk signature", errS3SignatureMismatch), accessKey: c.sv.accessKey, stringToSign: sts}
	}
	c.prevSig = sig
	return nil
}

func hmacEqual(a, b string) bool { return len(a) == len(b) && subtleEq(a, b) }

func subtleEq(a, b string) bool {
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// readTrailers reads what follows the last chunk: trailing headers (checking the checksum
// and, when signed, the trailer signature) and the final empty line.
func (c *chunkedReader) readTrailers() error {
	var lines []string
	sig := ""
	for {
		l, err := c.line()
		if err != nil {
			if !c.trailer && len(lines) == 0 {
				return nil // a client that ends right after the last chunk
			}
			return err
		}
		if l == "" {
			break
		}
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			return c.malformed("trailer %q", l)
		}
		name, val = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(val)
		if name == "x-amz-trailer-signature" {
			sig = val
			continue
		}
		lines = append(lines, name+":"+val)
	}
	if c.signed && c.trailer {
		canon := ""
		for _, l := range lines {
			canon += l + "\n"
		}
		sum := sha256.Sum256([]byte(canon))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.sv.amzDate + "\n" + c.sv.scope + "\n" + c.prevSig + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(c.sv.key, []byte(sts)))
		if !hmacEqual(want, sig) {
			return &sigDetail{err: fmt.Errorf("%w: trailer signature", errS3SignatureMismatch), accessKey: c.sv.accessKey, stringToSign: sts}
		}
	}
	if c.trailerHash == nil {
		return nil
	}
	got := base64.StdEncoding.EncodeToString(c.trailerHash.Sum(nil))
	for _, l := range lines {
		name, val, _ := strings.Cut(l, ":")
		if name == c.trailerName {
			if val != got {
				return fmt.Errorf("%w: %s %s, computed %s", meta.ErrBadDigest, name, val, got)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: the trailer %s announced in x-amz-trailer did not come", meta.ErrIncompleteBody, c.trailerName)
}
