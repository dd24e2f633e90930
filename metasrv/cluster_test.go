package metasrv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/aisfoundry/ais/api"
)

// fakeClock is a settable clock for code that decides on time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testMember is one in-process member on raft's in-memory transport.
type testMember struct {
	cfg    Config
	srv    *Server
	cancel context.CancelFunc
	done   chan error
	url    string
}

// testCluster is n in-process members with their own temp dirs and loopback HTTP listeners.
type testCluster struct {
	t      *testing.T
	ms     []*testMember
	trans  []*raft.InmemTransport
	addrs  []raft.ServerAddress
	client *api.MetaClient
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() && os.Getenv("METASRV_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func fastTiming() RaftTiming {
	t := DefaultConfig().Raft
	// Not much below the defaults: on a loaded 2-core machine shorter timeouts cause
	// elections mid-test, and a create retried after a lost answer then sees 409.
	t.HeartbeatTimeout = 500 * time.Millisecond
	t.ElectionTimeout = 500 * time.Millisecond
	t.LeaderLeaseTimeout = 250 * time.Millisecond
	t.CommitTimeout = 5 * time.Millisecond
	return t
}

func startCluster(t *testing.T, n int, mutate func(*Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t}
	var peers []Peer
	var lns []net.Listener
	for i := 0; i < n; i++ {
		addr, tr := raft.NewInmemTransport("")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tc.trans, tc.addrs, lns = append(tc.trans, tr), append(tc.addrs, addr), append(lns, ln)
		peers = append(peers, Peer{ID: fmt.Sprintf("m%d", i), RaftAddr: string(addr), HTTPURL: "http://" + ln.Addr().String()})
	}
	tc.connect()
	var urls []string
	for i := 0; i < n; i++ {
		cfg := DefaultConfig()
		cfg.ID, cfg.Dir, cfg.Peers = peers[i].ID, t.TempDir(), peers
		cfg.Raft = fastTiming()
		cfg.Transport, cfg.HTTPListener = tc.trans[i], lns[i]
		if mutate != nil {
			mutate(&cfg)
		}
		m := &testMember{cfg: cfg, url: peers[i].HTTPURL}
		tc.ms = append(tc.ms, m)
		urls = append(urls, m.url)
		tc.start(i)
	}
	var err error
	if tc.client, err = api.NewMetaClient(urls, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := range tc.ms {
			tc.stop(i)
		}
	})
	// The first leader sets the signing key; tests start after that epoch.
	deadline := time.Now().Add(10 * time.Second)
	for tc.ms[tc.leader()].srv.view().Config.SigningKey == "" {
		if time.Now().After(deadline) {
			t.Fatal("no signing key within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return tc
}

func (tc *testCluster) connect() {
	for i, a := range tc.trans {
		for j, b := range tc.trans {
			if i != j {
				a.Connect(tc.addrs[j], b)
			}
		}
	}
}

func (tc *testCluster) start(i int) {
	tc.t.Helper()
	m := tc.ms[i]
	srv, err := New(m.cfg, testLogger(tc.t).With("member", m.cfg.ID))
	if err != nil {
		tc.t.Fatalf("start %s: %v", m.cfg.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.srv, m.cancel, m.done = srv, cancel, make(chan error, 1)
	go func() { m.done <- srv.Run(ctx) }()
}

// stop shuts member i down cleanly (it hands over leadership first).
func (tc *testCluster) stop(i int) {
	m := tc.ms[i]
	if m.cancel == nil {
		return
	}
	m.cancel()
	if err := <-m.done; err != nil {
		tc.t.Errorf("%s: Run: %v", m.cfg.ID, err)
	}
	m.cancel = nil
}

// restart starts a stopped member again with the same directory, on a new in-memory
// transport at the same address and a new listener on the same port.
func (tc *testCluster) restart(i int) {
	tc.t.Helper()
	m := tc.ms[i]
	_, tr := raft.NewInmemTransport(tc.addrs[i])
	tc.trans[i] = tr
	tc.connect()
	ln, err := net.Listen("tcp", m.url[len("http://"):])
	if err != nil {
		tc.t.Fatal(err)
	}
	m.cfg.Transport, m.cfg.HTTPListener = tr, ln
	tc.start(i)
}

// leader waits for a leader among the running members and returns its index.
func (tc *testCluster) leader() int {
	tc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range tc.ms {
			if m.cancel != nil && m.srv.raft.State() == raft.Leader && m.srv.mon.ready.Load() {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc.t.Fatal("no leader within 10s")
	return -1
}

// follower returns the index of a running member that is not the leader.
func (tc *testCluster) follower() int {
	l := tc.leader()
	for i, m := range tc.ms {
		if i != l && m.cancel != nil {
			return i
		}
	}
	tc.t.Fatal("no follower")
	return -1
}

// converge waits until every running member has applied the same epoch and returns it.
func (tc *testCluster) converge() uint64 {
	tc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var epochs []uint64
		for _, m := range tc.ms {
			if m.cancel != nil {
				epochs = append(epochs, m.srv.view().Epoch)
			}
		}
		same := true
		for _, e := range epochs {
			same = same && e == epochs[0]
		}
		if same {
			return epochs[0]
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("members did not converge: epochs %v", epochs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}
