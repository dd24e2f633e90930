package api

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The same-host hand-off lets a gateway in proxy mode send an object from the target's own open
// file instead of receiving its bytes over TCP: when gateway and target run on one machine, the
// gateway sends the (signed) GET over a Unix socket the target listens on, the target admits and
// opens the object as for any GET, and passes the open file descriptor back (SCM_RIGHTS) with the
// answer's header. The gateway sendfiles the file to its client and closes it. The bytes cross
// the kernel once, file to client socket, as in redirect mode; over TCP they cross it three
// times (target file to socket, socket to gateway socket, gateway to client).
//
// Wire protocol, version 1 (2026-12-08), on a stream socket in the abstract namespace (per
// network namespace; no file on any disk):
//
//	dial:    gateway -> "AIS-HANDOFF 1 <target ID>\n";  target -> "OK\n" or "NO <reason>\n"
//	request: an HTTP/1.1 request as a client sends it (no body: GET and HEAD only)
//	answer:  a prefix of 17 bytes: kind (1: 'F' file or 'I' inline), offset (8), length (8), big
//	         endian; then the status line and header of an HTTP/1.1 answer, up to the blank line.
//	         'F': the descriptor rides on the answer's first byte; the body is length bytes of
//	         it from offset. 'I': body frames follow, each a 4-byte length and as many bytes;
//	         a frame of length 0 ends the body. A target that cannot finish a body closes the
//	         connection instead of ending it.
//
// Requests and answers alternate on a connection; the gateway keeps connections for reuse.

// HandoffVersion is the hand-off protocol's version, sent in the dial line.
// History: 1 (2026-12-08) first version.
const HandoffVersion = 1

// Kinds of hand-off answers.
const (
	HandoffFile   = 'F'
	HandoffInline = 'I'
)

// HandoffPrefixLen is the size of a hand-off answer's prefix.
const HandoffPrefixLen = 17

// HandoffHello is the line a gateway sends on a new hand-off connection to target id.
func HandoffHello(id string) string { return fmt.Sprintf("AIS-HANDOFF %d %s\n", HandoffVersion, id) }

// HandoffSocketName is the abstract Unix socket name a target listens on for hand-offs, made
// unique on its machine by the address of its data listener (HOST:PORT, as advertised).
func HandoffSocketName(dataAddr string) string { return "@ais-handoff/" + dataAddr }

// PutHandoffPrefix encodes an answer's prefix into b (HandoffPrefixLen bytes).
func PutHandoffPrefix(b []byte, kind byte, off, n int64) {
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:9], uint64(off))
	binary.BigEndian.PutUint64(b[9:17], uint64(n))
}

// ParseHandoffPrefix decodes an answer's prefix.
func ParseHandoffPrefix(b []byte) (kind byte, off, n int64, err error) {
	kind = b[0]
	off, n = int64(binary.BigEndian.Uint64(b[1:9])), int64(binary.BigEndian.Uint64(b[9:17]))
	if kind != HandoffFile && kind != HandoffInline || off < 0 || n < 0 {
		return 0, 0, 0, fmt.Errorf("hand-off: bad answer prefix %x", b)
	}
	return kind, off, n, nil
}

// HandoffFrames reads the body frames of an inline hand-off answer from r, as one stream that
// ends (io.EOF) with the frame of length 0; a stream that stops before it is
// io.ErrUnexpectedEOF.
type HandoffFrames struct {
	R    io.Reader
	left uint32
	done bool
}

func (f *HandoffFrames) Read(p []byte) (int, error) {
	for f.left == 0 {
		if f.done {
			return 0, io.EOF
		}
		var h [4]byte
		if _, err := io.ReadFull(f.R, h[:]); err != nil {
			return 0, unexpected(err)
		}
		f.left = binary.BigEndian.Uint32(h[:])
		f.done = f.left == 0
	}
	if uint32(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.R.Read(p)
	f.left -= uint32(n)
	if err != nil && (f.left > 0 || err != io.EOF) {
		return n, unexpected(err)
	}
	return n, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// BootID names this machine's running kernel (/proc/sys/kernel/random/boot_id): two processes
// with the same boot ID share a machine, so a gateway can tell which targets are its
// neighbours. "" where the kernel does not say.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HandoffConn is a gateway's connection to a target's hand-off socket. One request at a time.
type HandoffConn struct {
	c   *net.UnixConn
	fds fdReader
	br  *bufio.Reader
	bw  *bufio.Writer
}

// HandoffAnswer is a target's answer over a hand-off: Resp's Body is the inline body (empty
// for a file answer); File, if not nil, is the descriptor to send N bytes of from Off, which
// the caller closes.
type HandoffAnswer struct {
	Resp   *http.Response
	File   *os.File
	Off, N int64
}

// DialHandoff connects to the hand-off socket name of target id and checks that the target
// answering is that one.
func DialHandoff(ctx context.Context, name, id string) (*HandoffConn, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "unix", name)
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UnixConn)
	hc := &HandoffConn{c: uc, fds: fdReader{c: uc, oob: make([]byte, unix.CmsgSpace(4*4))}}
	hc.br, hc.bw = bufio.NewReaderSize(&hc.fds, 4<<10), bufio.NewWriterSize(uc, 4<<10)
	_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(uc, HandoffHello(id)); err != nil {
		hc.Close()
		return nil, err
	}
	line, err := hc.br.ReadSlice('\n')
	if err != nil {
		hc.Close()
		return nil, fmt.Errorf("hand-off %s: %w", name, unexpected(err))
	}
	if string(line) != "OK\n" {
		hc.Close()
		return nil, fmt.Errorf("hand-off %s refused: %s", name, strings.TrimSpace(string(line)))
	}
	_ = uc.SetDeadline(time.Time{})
	return hc, nil
}

// Conn is the connection, for deadlines.
func (hc *HandoffConn) Conn() net.Conn { return hc.c }

// Close closes the connection and any descriptor it received and did not hand out.
func (hc *HandoffConn) Close() error {
	hc.fds.closeAll()
	return hc.c.Close()
}

// RoundTrip sends req (a GET or HEAD without a body) and reads the answer's head. An inline
// body must be read to its end (io.EOF) before the next request.
func (hc *HandoffConn) RoundTrip(ctx context.Context, req *http.Request) (*HandoffAnswer, error) {
	stop := context.AfterFunc(ctx, func() { _ = hc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (*HandoffAnswer, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unexpected(err)
	}
	if err := req.Write(hc.bw); err != nil {
		return fail(err)
	}
	if err := hc.bw.Flush(); err != nil {
		return fail(err)
	}
	var p [HandoffPrefixLen]byte
	if _, err := io.ReadFull(hc.br, p[:]); err != nil {
		return fail(err)
	}
	kind, off, n, err := ParseHandoffPrefix(p[:])
	if err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(hc.br, req)
	if err != nil {
		return fail(err)
	}
	if kind == HandoffInline {
		resp.Body = io.NopCloser(&HandoffFrames{R: hc.br})
		return &HandoffAnswer{Resp: resp}, nil
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("hand-off: a file answer with status %d", resp.StatusCode)
	}
	fd, err := hc.fds.take()
	if err != nil {
		return nil, err
	}
	resp.Body = http.NoBody
	return &HandoffAnswer{Resp: resp, File: os.NewFile(uintptr(fd), "hand-off"), Off: off, N: n}, nil
}

// fdReader reads a Unix connection and keeps the descriptors that arrive with the bytes.
type fdReader struct {
	c   *net.UnixConn
	oob []byte
	fds []int
}

func (r *fdReader) Read(p []byte) (int, error) {
	n, oobn, flags, _, err := r.c.ReadMsgUnix(p, r.oob)
	if oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(r.oob[:oobn])
		for i := range msgs {
			if fds, ferr := unix.ParseUnixRights(&msgs[i]); ferr == nil {
				r.fds = append(r.fds, fds...)
			}
		}
		if perr != nil && err == nil {
			err = perr
		}
	}
	if flags&unix.MSG_CTRUNC != 0 && err == nil {
		err = errors.New("hand-off: descriptors cut off (MSG_CTRUNC)")
	}
	return n, err
}

// take returns the one descriptor that came with an answer.
func (r *fdReader) take() (int, error) {
	if len(r.fds) != 1 {
		n := len(r.fds)
		r.closeAll()
		return -1, fmt.Errorf("hand-off: a file answer came with %d descriptors, not 1", n)
	}
	fd := r.fds[0]
	r.fds = r.fds[:0]
	return fd, nil
}

func (r *fdReader) closeAll() {
	for _, fd := range r.fds {
		_ = unix.Close(fd)
	}
	r.fds = r.fds[:0]
}
