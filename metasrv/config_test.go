package metasrv

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

func TestParsePeers(t *testing.T) {
	tests := []struct {
		in   string
		want []Peer
		err  bool
	}{
		{"m0=127.0.0.1:7000@127.0.0.1:8000", []Peer{{"m0", "127.0.0.1:7000", "http://127.0.0.1:8000"}}, false},
		{"a=h1:1@h1:2, b=h2:1@https://h2:2/", []Peer{{"a", "h1:1", "http://h1:2"}, {"b", "h2:1", "https://h2:2"}}, false},
		{"", nil, true},
		{"m0", nil, true},
		{"m0=h:1", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePeers(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	peers, _ := ParsePeers("m0=h:1@h:2,m1=h:3@h:4,m2=h:5@h:6")
	good := DefaultConfig()
	good.ID, good.Dir, good.Peers = "m1", "/tmp/x", peers
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		mention string
	}{
		{"no id", func(c *Config) { c.ID = "" }, "node ID"},
		{"id not a peer", func(c *Config) { c.ID = "m9" }, "not among the peers"},
		{"no dir", func(c *Config) { c.Dir = "" }, "dir"},
		{"no peers", func(c *Config) { c.Peers = nil }, "peers"},
		{"duplicate peer", func(c *Config) { c.Peers = append(c.Peers, c.Peers[0]) }, "twice"},
		{"duplicate raft address", func(c *Config) {
			c.Peers = append([]Peer(nil), c.Peers...)
			c.Peers[1].RaftAddr = c.Peers[0].RaftAddr
		}, "raft address"},
		{"bad http url", func(c *Config) {
			c.Peers = append([]Peer(nil), c.Peers...)
			c.Peers[2].HTTPURL = "ftp://x"
		}, "HTTP URL"},
		{"lease above heartbeat", func(c *Config) { c.Raft.LeaderLeaseTimeout = time.Second }, "LeaderLeaseTimeout"},
		{"election below heartbeat", func(c *Config) { c.Raft.ElectionTimeout = 100 * time.Millisecond }, "ElectionTimeout"},
		{"negative node timeout", func(c *Config) { c.NodeTimeout = -time.Second }, "positive"},
		{"no clock", func(c *Config) { c.Now = nil }, "clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestHCLogBridge(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := newHCLogger(base).Named("raft").With("peer", "m1")
	l.Debug("hidden")
	l.Info("entering follower state", "term", 3)
	l.Error("failed to heartbeat", "error", "refused")
	l.Log(hclog.Off, "never")
	l.StandardLogger(nil).Print("from std logger")
	out := buf.String()
	for _, want := range []string{"level=INFO msg=\"entering follower state\" logger=raft peer=m1 term=3",
		"level=ERROR msg=\"failed to heartbeat\" logger=raft peer=m1 error=refused", "from std logger"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") || strings.Contains(out, "never") {
		t.Errorf("filtered lines leaked:\n%s", out)
	}
	if l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info || l.Name() != "raft" {
		t.Errorf("levels or name wrong: debug %v info %v level %v name %q", l.IsDebug(), l.IsInfo(), l.GetLevel(), l.Name())
	}
}
