package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// The gateway's end of the same-host hand-off (api/handoff.go). A proxied GET for a target on
// this machine (same boot ID, an advertised hand-off socket) goes over the target's Unix socket;
// a file answer is sent to the client from the target's open descriptor by sendfile. A target
// whose socket cannot be reached (another network namespace, an old version, hand-off off)
// is proxied over TCP, and tried again after handoffRetry.

// handoffRetry is how long a target whose hand-off failed is proxied over TCP only.
const handoffRetry = 30 * time.Second

type handoffs struct {
	bootID string
	pool   *rawConns // keyed by "<target ID> <socket name>"
	log    *slog.Logger
	// answers counts proxied GETs by how they went: "file" (sendfile from the target's
	// descriptor), "inline" (the bytes came over the socket), "failed" (the GET went over
	// TCP, and so do the target's for handoffRetry).
	answers              *prometheus.CounterVec
	file, inline, viaTCP prometheus.Counter
	mu                   struct {
		sync.Mutex
		down map[string]time.Time // key -> when to try again
	}
}

func newHandoffs(log *slog.Logger) *handoffs {
	h := &handoffs{bootID: api.BootID(), log: log, answers: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ais_gw_handoff_gets_total",
		Help: "Proxied GETs sent over a same-host hand-off, by answer: file (sent from the target's open file), inline (bytes over the socket), failed (proxied over TCP instead, as are that target's GETs for the next 30 s).",
	}, []string{"answer"})}
	h.file, h.inline, h.viaTCP = h.answers.WithLabelValues("file"), h.answers.WithLabelValues("inline"),
		h.answers.WithLabelValues("failed")
	h.mu.down = map[string]time.Time{}
	h.pool = newConnPool(dialHandoff)
	return h
}

// key is the pool key of owner's hand-off, and whether the gateway should try it now.
func (h *handoffs) key(owner meta.Node) (string, bool) {
	if h == nil || owner.Handoff == "" || owner.BootID == "" || owner.BootID != h.bootID {
		return "", false
	}
	key := owner.ID + " " + owner.Handoff
	h.mu.Lock()
	defer h.mu.Unlock()
	if until, ok := h.mu.down[key]; ok {
		if time.Now().Before(until) {
			return "", false
		}
		delete(h.mu.down, key)
	}
	return key, true
}

// failed proxies key's target over TCP for a while.
func (h *handoffs) failed(key string, err error) {
	h.viaTCP.Inc()
	h.mu.Lock()
	_, known := h.mu.down[key]
	h.mu.down[key] = time.Now().Add(handoffRetry)
	h.mu.Unlock()
	if !known {
		h.log.Info("same-host hand-off failed: proxying over TCP", "target", key, "retry_in", handoffRetry, "err", err)
	}
}

// dialHandoff connects to the hand-off socket of key ("<target ID> <socket name>").
func dialHandoff(ctx context.Context, key string) (*rawConn, error) {
	id, name, _ := strings.Cut(key, " ")
	hc, err := api.DialHandoff(ctx, name, id)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: hc.Conn(), hand: hc}, nil
}

// handoffGet sends req on a hand-off connection for key and reads the answer's head: a file
// answer leaves the descriptor on the connection (rc.file), an inline one a body of frames.
func (g *Gateway) handoffGet(ctx context.Context, key string, req *http.Request) (*rawConn, *http.Response, error) {
	for attempt := 0; ; attempt++ {
		rc, reused, err := g.handoff.pool.get(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		ans, err := rc.hand.RoundTrip(ctx, req)
		if err == nil {
			if ans.File != nil {
				g.handoff.file.Inc()
				if _, err = ans.File.Seek(ans.Off, io.SeekStart); err != nil {
					ans.File.Close()
					rc.close()
					return nil, nil, err
				}
				rc.file = ans.File
				ans.Resp.ContentLength = ans.N
			} else {
				g.handoff.inline.Inc()
			}
			return rc, ans.Resp, nil
		}
		rc.close()
		if !reused || attempt > 0 || ctx.Err() != nil {
			return nil, nil, err
		}
	}
}

// handoffBody streams a hand-off answer's body to w: a file by sendfile (w's ReadFrom), an
// inline body as it comes. It keeps rc for reuse unless the body was cut short.
func (g *Gateway) handoffBody(ctx context.Context, w io.Writer, rc *rawConn, resp *http.Response) error {
	if f := rc.file; f != nil {
		rc.file = nil
		defer f.Close()
		g.handoff.pool.put(rc) // the connection is done with this answer
		lr := &io.LimitedReader{R: f, N: resp.ContentLength}
		_, err := io.Copy(w, lr)
		if err == nil && lr.N > 0 {
			err = io.ErrUnexpectedEOF // the file is shorter than its metadata said
		}
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = rc.c.SetDeadline(time.Unix(1, 0)) })
	_, err := io.Copy(w, resp.Body)
	if !stop() || err != nil {
		rc.close()
	} else {
		g.handoff.pool.put(rc)
	}
	return err
}

// close closes the connection and the file of an answer not sent.
func (rc *rawConn) close() {
	if rc.file != nil {
		rc.file.Close()
		rc.file = nil
	}
	if rc.hand != nil {
		rc.hand.Close()
		return
	}
	rc.c.Close()
}
