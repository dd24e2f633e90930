package main

import (
	"fmt"
	"os"

	"github.com/aisfoundry/ais/cmd/internal/daemon"
	"github.com/aisfoundry/ais/metasrv"
)

type restoreCmd struct {
	Config daemon.ConfigFile `placeholder:"FILE" help:"Read --id, --dir and --peers from the member's config file (the one 'ais-meta run' uses); other keys are ignored."`

	From        string `required:"" placeholder:"FILE" help:"Backup written by 'ais-meta backup' (or GET /v1/meta/backup)."`
	memberFlags `embed:""`
	EpochBump   uint64 `name:"epoch-bump" default:"1000" help:"Added to the backup's epoch. Gateways and targets still running follow only epochs above the one they hold: make it larger than the number of metadata changes since the backup. Use the same value for every member."`
}

func (c *restoreCmd) Run() error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(c.From)
	if err != nil {
		return err
	}
	r, err := metasrv.Restore(cfg, data, metasrv.RestoreOptions{EpochBump: c.EpochBump})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %s for member %s of %d: epoch %d, Raft index %d; start the members now\n",
		cfg.Dir, cfg.ID, len(cfg.Peers), r.Epoch, r.Applied)
	return nil
}
