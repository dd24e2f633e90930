package target

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// The target's end of the same-host hand-off (api/handoff.go): a Unix socket in the abstract
// namespace whose requests run through the data listener's handlers like any proxied GET
// (signature, epoch, ownership, validation, restore), with a ResponseWriter that answers the
// object's open file descriptor where the handler would sendfile it, and the bytes themselves
// (in frames) for everything else. Only processes of this user (or root) may connect.

// handoffIdle is how long a connection may sit between requests before the target closes it;
// the gateway redials.
const handoffIdle = 2 * time.Minute

type handoffServer struct {
	s    *Server
	name string // the socket's, as advertised
	l    *net.UnixListener
	h    http.Handler
	wg   sync.WaitGroup
	bufs sync.Pool // *[]byte copy buffers for inline bodies
	mu   struct {
		sync.Mutex
		conns   map[*net.UnixConn]bool // true while serving a request
		closing bool
	}
}

// listenHandoff binds the hand-off socket of the target whose data listener is at dataAddr.
// A failure leaves the hand-off off (gateways proxy over TCP) with a warning.
func (s *Server) listenHandoff(dataAddr string) *handoffServer {
	name := api.HandoffSocketName(dataAddr)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	if err != nil {
		s.log.Warn("same-host hand-off is off: gateways on this machine proxy over TCP", "socket", name, "err", err,
			"fix", "another process holds the name, or the kernel has no abstract Unix sockets; --handoff=false silences this")
		return nil
	}
	hs := &handoffServer{s: s, name: name, l: l, h: s.data}
	hs.bufs.New = func() any { b := make([]byte, 64<<10); return &b }
	hs.mu.conns = map[*net.UnixConn]bool{}
	return hs
}

// serve accepts connections until ctx ends, then waits (up to the shutdown timeout) for the
// requests being served and closes every connection.
func (hs *handoffServer) serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		hs.l.Close()
		hs.mu.Lock()
		hs.mu.closing = true
		for c, busy := range hs.mu.conns {
			if !busy {
				c.Close()
			}
		}
		hs.mu.Unlock()
	})
	defer stop()
	for {
		c, err := hs.l.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			// Out of descriptors, say: keep the socket (gateways proxy over TCP meanwhile).
			hs.s.log.Warn("same-host hand-off: accept failed; retrying in 100 ms", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if !hs.track(c, false) {
			c.Close()
			break
		}
		hs.wg.Add(1)
		go func() {
			defer hs.wg.Done()
			hs.conn(ctx, c)
		}()
	}
	done := make(chan struct{})
	go func() { hs.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(hs.s.cfg.ShutdownTimeout):
		hs.mu.Lock()
		for c := range hs.mu.conns {
			c.Close()
		}
		hs.mu.Unlock()
		<-done
	}
	return nil
}

// track records c's state; false means the server is closing and c must end.
func (hs *handoffServer) track(c *net.UnixConn, busy bool) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.mu.closing {
		return false
	}
	hs.mu.conns[c] = busy
	return true
}

func (hs *handoffServer) untrack(c *net.UnixConn) {
	hs.mu.Lock()
	delete(hs.mu.conns, c)
	hs.mu.Unlock()
	c.Close()
}

// conn serves one gateway connection: the dial line, then requests until either side ends.
func (hs *handoffServer) conn(ctx context.Context, c *net.UnixConn) {
	defer hs.untrack(c)
	log := hs.s.log
	if err := peerAllowed(c); err != nil {
		log.Warn("same-host hand-off refused", "err", err)
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, 4<<10)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return
	}
	if want := api.HandoffHello(hs.s.id); string(line) != want {
		_, _ = fmt.Fprintf(c, "NO this is target %s, protocol %d\n", hs.s.id, api.HandoffVersion)
		return
	}
	if _, err := io.WriteString(c, "OK\n"); err != nil {
		return
	}
	w := &handoffWriter{c: c, bw: bufio.NewWriterSize(c, 64<<10), bufs: &hs.bufs}
	for {
		_ = c.SetReadDeadline(time.Now().Add(handoffIdle))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		if !hs.track(c, true) {
			return
		}
		req.RemoteAddr = "handoff"
		w.reset(req)
		if req.Method != http.MethodGet && req.Method != http.MethodHead || req.ContentLength != 0 {
			api.WriteError(w, req, fmt.Errorf("%w: the same-host hand-off serves GET and HEAD without a body, not %s",
				meta.ErrInvalidRequest, req.Method))
		} else {
			hs.h.ServeHTTP(w, req.WithContext(ctx))
		}
		ok := w.finish()
		if !hs.track(c, false) || !ok {
			return
		}
	}
}

// peerAllowed admits processes of this target's user and root.
func peerAllowed(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if uid := uint32(os.Getuid()); cred.Uid != uid && cred.Uid != 0 {
		return fmt.Errorf("process %d of user %d is neither root nor this target's user %d", cred.Pid, cred.Uid, uid)
	}
	return nil
}

// handoffWriter is the http.ResponseWriter of one hand-off request. The answer's head goes
// out with the first byte of body (or at the end); a body that is an open file under an
// io.LimitedReader (sendRange) goes as its descriptor, anything else in frames.
type handoffWriter struct {
	c       *net.UnixConn
	bw      *bufio.Writer
	bufs    *sync.Pool
	req     *http.Request
	header  http.Header
	status  int   // 0 until WriteHeader
	kind    byte  // 0 until the head is out, then api.HandoffFile or api.HandoffInline
	written int64 // body bytes answered
	err     error // the connection failed: the rest is dropped and the connection closed
	head    bytes.Buffer
}

func (w *handoffWriter) reset(req *http.Request) {
	w.req, w.header, w.status, w.kind, w.written, w.err = req, http.Header{}, 0, 0, 0, nil
}

func (w *handoffWriter) Header() http.Header { return w.header }

func (w *handoffWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // no interim (1xx) answers on the hand-off
		w.status = code
	}
}

func (w *handoffWriter) Write(p []byte) (int, error) {
	if w.kind == 0 {
		w.sendHead(api.HandoffInline, 0, 0, nil)
	}
	if w.err == nil && w.kind != api.HandoffInline {
		w.err = errors.New("target: hand-off: body written after the file")
	}
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	if w.req.Method == http.MethodHead {
		return n, nil // as net/http does: the body of a HEAD answer is dropped
	}
	for len(p) > 0 {
		k := min(len(p), 1<<30)
		var h [4]byte
		binary.BigEndian.PutUint32(h[:], uint32(k))
		if _, err := w.bw.Write(h[:]); err != nil {
			w.err = err
			return 0, err
		}
		if _, err := w.bw.Write(p[:k]); err != nil {
			w.err = err
			return 0, err
		}
		p = p[k:]
	}
	w.written += int64(n)
	return n, nil
}

// ReadFrom answers an open file under an io.LimitedReader, read from its current offset, as
// its descriptor: the gateway sends it. The file must not be read through this descriptor
// afterwards (the gateway's copy shares its offset); sendRange only closes it.
func (w *handoffWriter) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok && w.kind == 0 && w.req.Method == http.MethodGet {
		if f, ok := lr.R.(*os.File); ok && lr.N > 0 {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil {
				raw, err := f.SyscallConn()
				if err != nil {
					return 0, err
				}
				if err := raw.Control(func(fd uintptr) { w.sendHead(api.HandoffFile, off, lr.N, unix.UnixRights(int(fd))) }); err != nil {
					return 0, err
				}
				if w.err != nil {
					return 0, w.err
				}
				n := lr.N
				lr.N = 0
				w.written = n
				return n, nil
			}
		}
	}
	bp := w.bufs.Get().(*[]byte)
	defer w.bufs.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, src, *bp)
}

// Flush sends what inline body is buffered.
func (w *handoffWriter) Flush() {
	if w.kind == api.HandoffInline && w.err == nil {
		w.err = w.bw.Flush()
	}
}

// sendHead sends the answer's prefix and head, with rights (a descriptor) if not nil.
func (w *handoffWriter) sendHead(kind byte, off, n int64, rights []byte) {
	if w.err != nil {
		return
	}
	w.kind = kind
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.head.Reset()
	var p [api.HandoffPrefixLen]byte
	api.PutHandoffPrefix(p[:], kind, off, n)
	w.head.Write(p[:])
	fmt.Fprintf(&w.head, "HTTP/1.1 %03d %s\r\n", w.status, http.StatusText(w.status))
	_ = w.header.Write(&w.head)
	w.head.WriteString("\r\n")
	b := w.head.Bytes()
	k, _, err := w.c.WriteMsgUnix(b, rights, nil)
	if err == nil && k < len(b) {
		_, err = w.c.Write(b[k:])
	}
	w.err = err
}

// finish ends the answer; false means the connection must close (it failed, or the body is
// shorter than the Content-Length the handler declared, which the gateway must see as cut).
func (w *handoffWriter) finish() bool {
	if w.kind == 0 {
		w.sendHead(api.HandoffInline, 0, 0, nil)
	}
	if w.err != nil {
		return false
	}
	if w.kind == api.HandoffFile {
		return true
	}
	if cl, err := strconv.ParseInt(w.header.Get("Content-Length"), 10, 64); err == nil &&
		w.req.Method != http.MethodHead && cl != w.written {
		_ = w.bw.Flush()
		return false
	}
	_, _ = w.bw.Write([]byte{0, 0, 0, 0})
	return w.bw.Flush() == nil
}
