package metasrv

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
)

// HeaderBackupApplied is the Raft index a backup was taken at (the state machine's applied
// index), on the answer of GET /v1/meta/backup.
const HeaderBackupApplied = "Ais-Backup-Applied"

// GET /v1/meta/backup: the whole metadata state (cluster map, buckets, cluster config with the
// signing key, leases) as the state machine encodes its snapshots (raftfsm.EncodeSnapshot),
// taken on the leader after a Raft barrier, so it holds every write acknowledged before the
// request. Restore feeds it to new members. It holds secrets: keep it like a key.
func (s *Server) backup(c echo.Context) error {
	if err := s.barrier(); err != nil {
		return err
	}
	data, epoch, applied := s.fsm.encode()
	h := c.Response().Header()
	h.Set(api.HeaderEpoch, strconv.FormatUint(epoch, 10))
	h.Set(HeaderBackupApplied, strconv.FormatUint(applied, 10))
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"ais-meta-epoch-%d.backup\"", epoch))
	return c.Blob(http.StatusOK, "application/octet-stream", data)
}

// encode returns the state machine's encoded snapshot with its epoch and applied index.
func (f *fsm) encode() (data []byte, epoch, applied uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.m.EncodeSnapshot(), f.mu.m.View().Epoch, f.mu.m.Applied()
}
