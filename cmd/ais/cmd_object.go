package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aisfoundry/ais/api"
)

// ObjectCmd groups the object commands.
type ObjectCmd struct {
	Show ObjectShowCmd `cmd:"" help:"Show an object's properties."`
	Cat  ObjectCatCmd  `cmd:"" help:"Print objects to stdout."`
	Rm   ObjectRmCmd   `cmd:"" help:"Remove objects."`
}

// ObjectShowCmd is "ais object show".
type ObjectShowCmd struct {
	Object string `arg:"" name:"OBJECT" predictor:"object" help:"ais://BUCKET/OBJECT."`
	jsonFlag
}

// objectProps is an object's properties as "ais object show --json" prints them.
type objectProps struct {
	Name          string    `json:"name"`
	Bucket        string    `json:"bucket"`
	Provider      string    `json:"provider"`
	Size          int64     `json:"size"`
	ChecksumType  string    `json:"checksum_type,omitempty"`
	ChecksumValue string    `json:"checksum_value,omitempty"`
	Version       uint64    `json:"version,omitempty"`
	ETag          string    `json:"etag,omitempty"`
	LastModified  time.Time `json:"last_modified,omitzero"`
}

// Run shows the object.
func (c *ObjectShowCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	u, err := parseObject(c.Object)
	if err != nil {
		return err
	}
	a, err := cl.HeadObject(ctx, u.Bucket, u.Object)
	if err != nil {
		return objectErr(u, err)
	}
	op := objectProps{Name: u.Object, Bucket: u.Bucket, Provider: string(u.Provider), Size: a.Size,
		ChecksumType: a.ChecksumType, ChecksumValue: a.ChecksumValue, Version: a.Version, ETag: a.ETag,
		LastModified: a.LastModified}
	if c.JSON {
		return writeJSON(con.Out, op)
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	t := newTable("PROPERTY", "VALUE")
	t.add("name", u.String())
	t.add("size", fmt.Sprintf("%s (%d bytes)", humanSize(a.Size), a.Size))
	t.add("checksum", dash(a.ChecksumType)+" "+dash(a.ChecksumValue))
	ver := "-"
	if a.Version > 0 {
		ver = strconv.FormatUint(a.Version, 10)
	}
	t.add("version", ver)
	t.add("etag", dash(a.ETag))
	mod := "-"
	if !a.LastModified.IsZero() {
		mod = a.LastModified.Local().Format("2006-01-02 15:04:05 MST")
	}
	t.add("modified", mod)
	return t.write(con.Out)
}

// ObjectCatCmd is "ais object cat".
type ObjectCatCmd struct {
	Objects []string `arg:"" name:"OBJECT" predictor:"object" help:"Objects to print, ais://BUCKET/OBJECT, one after the other."`
}

// Run prints the objects, checking each one's checksum.
func (c *ObjectCatCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	for _, s := range c.Objects {
		u, err := parseObject(s)
		if err != nil {
			return err
		}
		if _, err := getOne(ctx, cl, con.forStdout(), u, nil, true, con.Out); err != nil {
			return err
		}
	}
	return nil
}

// ObjectRmCmd is "ais object rm" and "ais rmo".
type ObjectRmCmd struct {
	Objects []string `arg:"" name:"OBJECT" predictor:"object" help:"Objects to remove, ais://BUCKET/OBJECT."`
}

// Run removes the objects.
func (c *ObjectRmCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	us := make([]uri, 0, len(c.Objects))
	for _, s := range c.Objects {
		u, err := parseObject(s)
		if err != nil {
			return err
		}
		us = append(us, u)
	}
	for _, u := range us {
		if err := cl.DeleteObject(ctx, u.Bucket, u.Object); err != nil {
			return objectErr(u, err)
		}
		fmt.Fprintf(con.Out, "removed %s\n", u)
	}
	return nil
}
