// Command ais-meta runs one member of the metadata quorum: a Raft replica of the cluster map,
// bucket metadata, cluster config and job leases, with its control HTTP API. Its backup and
// restore commands copy the metadata out of a running quorum and seed a new one with it.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kong"
)

type cli struct {
	Run     runCmd     `cmd:"" default:"withargs" help:"Run a member of the quorum (the default command: 'ais-meta --id ...' runs it)."`
	Backup  backupCmd  `cmd:"" help:"Save the metadata of a running quorum (cluster map, buckets, config, leases) to a file."`
	Restore restoreCmd `cmd:"" help:"Seed an empty --dir with a backup, for one member of a new quorum; run it for every member, then start them."`
}

func main() {
	var c cli
	ctx := kong.Parse(&c, kong.Name("ais-meta"),
		kong.Description("AIS metadata quorum member (Raft): cluster map, buckets, cluster config, job leases."))
	if err := ctx.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "ais-meta:", err)
		os.Exit(1)
	}
}
