package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// StorageCmd groups "ais storage ...".
type StorageCmd struct {
	Mountpath MountpathCmd      `cmd:"" help:"Attach, detach, enable or disable a target's mountpath; objects move to their new mountpath in a resilver job."`
	Summary   StorageSummaryCmd `cmd:"" help:"Show a bucket's object count, logical size, bytes on disk (with mirror copies and EC slices) and protection."`
	Scrub     StorageScrubCmd   `cmd:"" help:"Re-hash every object and copy of a bucket, restore the damaged ones from redundancy, and report what was found (a scrub job)."`
}

// MountpathCmd groups the mountpath changes.
type MountpathCmd struct {
	Attach  MountpathActionCmd `cmd:"" help:"Add a mountpath (a directory on its own disk) to a running target." action:"attach"`
	Detach  MountpathActionCmd `cmd:"" help:"Move a mountpath's objects to the target's other mountpaths, then stop using it." action:"detach"`
	Enable  MountpathActionCmd `cmd:"" help:"Use a disabled mountpath again." action:"enable"`
	Disable MountpathActionCmd `cmd:"" help:"Stop using a mountpath (its objects move to the others) but keep it listed, to enable later." action:"disable"`
}

// MountpathActionCmd is one mountpath change.
type MountpathActionCmd struct {
	Node string `arg:"" name:"NODE_ID" predictor:"node" help:"The target's ID (see ais show cluster)."`
	Dir  string `arg:"" name:"DIR" help:"The mountpath: an absolute directory on the target's machine."`
	Wait bool   `help:"Wait until the resilver has moved every object."`
}

// Run asks the target for the change.
func (c *MountpathActionCmd) Run(ctx context.Context, cl *api.Client, con *console, kctx *kong.Context) error {
	action := kctx.Selected().Tag.Get("action")
	if err := meta.ValidateNodeID(c.Node); err != nil {
		return err
	}
	if !strings.HasPrefix(c.Dir, "/") {
		return fmt.Errorf("mountpath %q: give the absolute path on the target's machine", c.Dir)
	}
	mr, err := cl.Mountpath(ctx, c.Node, api.MountpathRequest{Action: action, Path: c.Dir})
	if err != nil {
		return nodeErr(c.Node, err)
	}
	fmt.Fprintf(con.Out, "%s: %s %s; mountpaths in use: %s\n", c.Node, action, c.Dir, strings.Join(mr.Active, ", "))
	if len(mr.Disabled) > 0 {
		fmt.Fprintf(con.Out, "disabled: %s\n", strings.Join(mr.Disabled, ", "))
	}
	if mr.Job == "" {
		return nil
	}
	fmt.Fprintf(con.Out, "resilver %s moves the objects (ais job show %s)\n", mr.Job, mr.Job)
	if !c.Wait {
		return nil
	}
	return (&JobWaitCmd{ID: mr.Job}).Run(ctx, cl, con)
}
