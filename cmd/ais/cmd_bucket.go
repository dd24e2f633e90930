package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// jsonFlag is the --json flag of every listing and show command.
type jsonFlag struct {
	JSON bool `name:"json" help:"Print machine-readable JSON instead of a table."`
}

// BucketCmd groups the bucket commands.
type BucketCmd struct {
	Create BucketCreateCmd `cmd:"" help:"Create buckets."`
	Ls     BucketLsCmd     `cmd:"" help:"List buckets."`
	Rm     BucketRmCmd     `cmd:"" help:"Remove buckets with all their objects."`
	Props  BucketPropsCmd  `cmd:"" help:"Show or set bucket properties."`
}

// BucketCreateCmd is "ais bucket create" and "ais create".
type BucketCreateCmd struct {
	Buckets []string `arg:"" name:"BUCKET" predictor:"bucket" help:"Buckets to create, ais://NAME."`
	Props   []string `name:"props" short:"p" placeholder:"KEY=VALUE" sep:"none" help:"Set a property at creation (repeatable), e.g. --props checksum.type=md5 --props mirror.copies=2."`
}

// Run creates the buckets.
func (c *BucketCreateCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	// "--props a=1 b=2" leaves b=2 among the buckets: a KEY=VALUE is never a bucket.
	var buckets, kvs []string
	for _, s := range c.Buckets {
		if strings.Contains(s, "=") && !isRemote(s) {
			kvs = append(kvs, s)
		} else {
			buckets = append(buckets, s)
		}
	}
	kvs = append(splitProps(c.Props), kvs...)
	if len(buckets) == 0 {
		return fmt.Errorf(`no bucket to create; write "ais bucket create ais://NAME [--props KEY=VALUE ...]"`)
	}
	var doc []byte
	if len(kvs) > 0 {
		var err error
		if doc, err = propsPatch(meta.DefaultBucketProps(), kvs); err != nil {
			return err
		}
	}
	for _, s := range buckets {
		u, err := parseBucket(s)
		if err != nil {
			return err
		}
		if err := cl.CreateBucket(ctx, u.Bucket, doc); err != nil {
			return bucketErr(u, err)
		}
		fmt.Fprintf(con.Out, "created %s\n", u)
	}
	return nil
}

// splitProps lets "--props a=1,b=2" stand for two properties: a comma followed by a KEY= is
// a separator, any other comma is part of a value.
func splitProps(in []string) []string {
	var out []string
	for _, s := range in {
		for {
			i := nextPropStart(s)
			if i < 0 {
				out = append(out, s)
				break
			}
			out = append(out, s[:i])
			s = s[i+1:]
		}
	}
	return out
}

// nextPropStart finds a comma that starts another KEY=VALUE.
func nextPropStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
		rest := s[i+1:]
		eq := strings.IndexByte(rest, '=')
		if key := strings.TrimLeft(rest[:max(eq, 0)], " "); key != "" && !strings.ContainsAny(key, ", ") {
			return i
		}
	}
	return -1
}

// BucketLsCmd is "ais bucket ls" (and "ais ls" without a bucket).
type BucketLsCmd struct {
	jsonFlag
}

// Run lists the buckets.
func (c *BucketLsCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	return listBuckets(ctx, cl, con, c.JSON)
}

func listBuckets(ctx context.Context, cl *api.Client, con *console, asJSON bool) error {
	bs, err := cl.ListBuckets(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if bs == nil {
			bs = []meta.Bucket{}
		}
		return writeJSON(con.Out, bs)
	}
	if len(bs) == 0 {
		fmt.Fprintln(con.Out, `no buckets; create one with "ais create ais://NAME"`)
		return nil
	}
	t := newTable("NAME", "CHECKSUM", "VERSIONING", "MIRROR", "EC", "CREATED")
	for _, b := range bs {
		t.add(string(b.Provider)+"://"+b.Name, b.Props.Checksum.Type, onOff(b.Props.Versioning),
			mirrorText(b.Props.Mirror), ecText(b.Props.EC), timeText(b.Created))
	}
	return t.write(con.Out)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func mirrorText(m meta.MirrorProps) string {
	if m.Copies <= 1 {
		return "off"
	}
	return fmt.Sprintf("%d copies", m.Copies)
}

func ecText(ec meta.ECProps) string {
	if !ec.Enabled {
		return "off"
	}
	return fmt.Sprintf("%d+%d", ec.Data, ec.Parity)
}

// timeText shows Unix nanoseconds as local time, or "-" for zero.
func timeText(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return time.Unix(0, ns).Local().Format("2006-01-02 15:04:05")
}

// BucketRmCmd is "ais bucket rm" and "ais rmb".
type BucketRmCmd struct {
	Buckets []string `arg:"" name:"BUCKET" predictor:"bucket" help:"Buckets to remove, ais://NAME; their objects go with them."`
}

// Run removes the buckets.
func (c *BucketRmCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	for _, s := range c.Buckets {
		u, err := parseBucket(s)
		if err != nil {
			return err
		}
		if err := cl.DestroyBucket(ctx, u.Bucket); err != nil {
			return bucketErr(u, err)
		}
		fmt.Fprintf(con.Out, "removed %s\n", u)
	}
	return nil
}

// BucketPropsCmd groups "ais bucket props show|set".
type BucketPropsCmd struct {
	Show BucketPropsShowCmd `cmd:"" help:"Show a bucket's properties."`
	Set  BucketPropsSetCmd  `cmd:"" help:"Set bucket properties: ais bucket props set ais://b checksum.type=md5 mirror.copies=2."`
}

// BucketPropsShowCmd is "ais bucket props show".
type BucketPropsShowCmd struct {
	Bucket string `arg:"" name:"BUCKET" predictor:"bucket" help:"The bucket, ais://NAME."`
	jsonFlag
}

// Run shows the properties.
func (c *BucketPropsShowCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	u, err := parseBucket(c.Bucket)
	if err != nil {
		return err
	}
	b, err := cl.BucketProps(ctx, u.Bucket)
	if err != nil {
		return bucketErr(u, err)
	}
	if c.JSON {
		return writeJSON(con.Out, b)
	}
	props, err := flattenProps(b.Props)
	if err != nil {
		return err
	}
	t := newTable("PROPERTY", "VALUE")
	t.add("name", u.String())
	t.add("id", fmt.Sprint(b.ID))
	t.add("created", timeText(b.Created))
	if b.Owner != "" {
		t.add("owner", b.Owner)
	}
	for _, p := range props {
		t.add(p.Key, p.Value)
	}
	return t.write(con.Out)
}

// BucketPropsSetCmd is "ais bucket props set".
type BucketPropsSetCmd struct {
	Bucket string   `arg:"" name:"BUCKET" predictor:"bucket" help:"The bucket, ais://NAME."`
	Props  []string `arg:"" name:"KEY=VALUE" predictor:"prop" help:"Properties by dotted key, e.g. checksum.type=md5 mirror.copies=2 write.fsync=false."`
	jsonFlag
}

// Run sets the properties: the values are typed from the bucket's current properties and sent
// as one JSON merge document.
func (c *BucketPropsSetCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	u, err := parseBucket(c.Bucket)
	if err != nil {
		return err
	}
	before, err := cl.BucketProps(ctx, u.Bucket)
	if err != nil {
		return bucketErr(u, err)
	}
	doc, err := propsPatch(before.Props, c.Props)
	if err != nil {
		return err
	}
	after, err := cl.PatchBucketProps(ctx, u.Bucket, doc)
	if err != nil {
		return bucketErr(u, err)
	}
	if c.JSON {
		return writeJSON(con.Out, after)
	}
	changes, err := propChanges(before.Props, after.Props)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		fmt.Fprintf(con.Out, "%s: nothing changed\n", u)
		return nil
	}
	for _, ch := range changes {
		fmt.Fprintf(con.Out, "%s: %s\n", u, ch)
	}
	return nil
}
