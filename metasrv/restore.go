package metasrv

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/aisfoundry/ais/raftfsm"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// EpochBump is added to the backup's epoch. Gateways and targets that still run follow
	// only epochs above the one they hold, so the restored epoch must be above any epoch the
	// old quorum published after the backup.
	EpochBump uint64
}

// RestoreResult says what Restore seeded.
type RestoreResult struct {
	Epoch   uint64 // epoch of the restored state
	Applied uint64 // Raft index of the seeded snapshot
}

// Restore seeds the empty directory cfg.Dir with a backup (GET /v1/meta/backup) for member
// cfg.ID of the quorum cfg.Peers: a Raft snapshot of the backup's state whose configuration is
// cfg.Peers. Every member of a new quorum is seeded with the same backup, peers and options;
// started, they elect a leader and serve the backup's state (at its epoch plus EpochBump). It
// refuses a directory that already holds Raft state.
func Restore(cfg Config, backup []byte, opts RestoreOptions) (RestoreResult, error) {
	if err := cfg.Validate(); err != nil {
		return RestoreResult{}, err
	}
	m, err := raftfsm.Restore(backup)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: not a backup: %w", err)
	}
	epoch := m.View().Epoch + opts.EpochBump
	data, err := raftfsm.Reseed(backup, epoch)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db"),
		BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: open %s: %w", filepath.Join(cfg.Dir, "raft.db"), err)
	}
	defer store.Close()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, newHCLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: snapshot store: %w", err)
	}
	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: read raft state: %w", err)
	}
	if existing {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: %s already holds Raft state; restore into an empty directory", cfg.Dir)
	}
	var conf raft.Configuration
	for _, p := range cfg.Peers {
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID),
			Address: raft.ServerAddress(p.RaftAddr)})
	}
	// The snapshot sits at the backup's applied index, so every index the new quorum writes
	// (bucket IDs, lease fencing tokens) is above every one in the backup. Term 1 is the first
	// term; the first election moves on from it.
	index := max(m.Applied(), 1)
	_, trans := raft.NewInmemTransport("")
	defer trans.Close()
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, 1, conf, 1, trans)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: create snapshot: %w", err)
	}
	if _, err := sink.Write(data); err != nil {
		_ = sink.Cancel()
		return RestoreResult{}, fmt.Errorf("metasrv: restore: write snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return RestoreResult{}, fmt.Errorf("metasrv: restore: write snapshot: %w", err)
	}
	return RestoreResult{Epoch: epoch, Applied: index}, nil
}
