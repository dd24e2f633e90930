package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aisfoundry/ais/api"
)

// LsCmd is "ais ls": buckets without an argument, a bucket's objects with one.
type LsCmd struct {
	Bucket string `arg:"" optional:"" name:"BUCKET" predictor:"object" help:"The bucket, ais://NAME; ais://NAME/PREFIX lists the names under PREFIX. Without it, list buckets."`
	Prefix string `placeholder:"PREFIX" help:"List only object names that start with PREFIX."`
	Limit  int    `placeholder:"N" help:"List at most N objects (default: all of them, page after page)."`
	Props  string `default:"name,size" placeholder:"LIST" predictor:"lsprops" help:"Columns, comma-separated: name, size, checksum, version, mtime, or all (default ${default})."`
	jsonFlag
}

// listProps are the object properties a listing can show, in column order.
var listProps = []string{"name", "size", "checksum", "version", "mtime"}

// Run lists.
func (c *LsCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	if c.Bucket == "" {
		if c.Prefix != "" || c.Limit != 0 {
			return fmt.Errorf(`--prefix and --limit list objects; name the bucket: "ais ls ais://BUCKET --prefix %s"`, c.Prefix)
		}
		return listBuckets(ctx, cl, con, c.JSON)
	}
	u, err := parseURI(c.Bucket, true)
	if err != nil {
		return err
	}
	prefix := c.Prefix
	if u.Object != "" {
		if prefix != "" {
			return fmt.Errorf("give the prefix once: either %s or --prefix %s", c.Bucket, c.Prefix)
		}
		prefix = u.Object
	}
	if c.Limit < 0 {
		return fmt.Errorf("--limit %d must not be negative", c.Limit)
	}
	cols, err := parseListProps(c.Props)
	if err != nil {
		return err
	}
	entries, err := listObjects(ctx, cl, u, prefix, c.Limit)
	if err != nil {
		return err
	}
	if c.JSON {
		out := make([]map[string]any, 0, len(entries))
		for _, e := range entries {
			m := make(map[string]any, len(cols))
			for _, col := range cols {
				m[col] = entryValue(e, col)
			}
			out = append(out, m)
		}
		return writeJSON(con.Out, out)
	}
	if len(entries) == 0 {
		if prefix != "" {
			fmt.Fprintf(con.Out, "no objects in %s with prefix %q\n", u.BucketString(), prefix)
		} else {
			fmt.Fprintf(con.Out, "no objects in %s\n", u.BucketString())
		}
		return nil
	}
	header := make([]string, len(cols))
	for i, col := range cols {
		header[i] = strings.ToUpper(col)
		if col == "size" || col == "version" {
			header[i] = ">" + header[i]
		}
	}
	t := newTable(header...)
	for _, e := range entries {
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = entryText(e, col)
		}
		t.add(row...)
	}
	return t.write(con.Out)
}

// listObjects pages through a bucket's listing until it ends or limit (if > 0) entries are in.
func listObjects(ctx context.Context, cl *api.Client, u uri, prefix string, limit int) ([]api.ObjectEntry, error) {
	var all []api.ObjectEntry
	opts := api.ListOptions{Prefix: prefix}
	for {
		opts.Limit = api.DefaultListLimit
		if limit > 0 {
			opts.Limit = min(limit-len(all), api.MaxListLimit)
		}
		page, err := cl.ListObjects(ctx, u.Bucket, opts)
		if err != nil {
			return nil, bucketErr(u, err)
		}
		all = append(all, page.Entries...)
		if limit > 0 && len(all) >= limit {
			return all[:limit], nil
		}
		if page.NextToken == "" {
			return all, nil
		}
		if page.NextToken == opts.Token {
			return nil, fmt.Errorf("listing %s did not advance past %q", u.BucketString(), page.NextToken)
		}
		opts.Token = page.NextToken
	}
}

// parseListProps reads --props: known names, "all", name always first.
func parseListProps(s string) ([]string, error) {
	cols := []string{"name"}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "" || p == "name":
		case p == "all":
			return slices.Clone(listProps), nil
		case slices.Contains(listProps, p):
			if !slices.Contains(cols, p) {
				cols = append(cols, p)
			}
		default:
			return nil, fmt.Errorf("--props: unknown property %q; use some of %s, or all", p, strings.Join(listProps, ","))
		}
	}
	return cols, nil
}

func entryValue(e api.ObjectEntry, col string) any {
	switch col {
	case "name":
		return e.Name
	case "size":
		return e.Size
	case "checksum":
		return e.Checksum
	case "version":
		return e.Version
	case "mtime":
		return e.Mtime
	}
	return nil
}

func entryText(e api.ObjectEntry, col string) string {
	switch col {
	case "name":
		return e.Name
	case "size":
		return humanSize(e.Size)
	case "checksum":
		if e.Checksum == "" {
			return "-"
		}
		return e.Checksum
	case "version":
		if e.Version == 0 {
			return "-"
		}
		return strconv.FormatUint(e.Version, 10)
	case "mtime":
		return timeText(e.Mtime)
	}
	return ""
}
