package gateway

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// s3ListPage lists up to limit objects of a bucket with names after start that have prefix,
// merged in name order from the targets (as the native listing does). more says whether
// names may remain.
func (g *Gateway) s3ListPage(ctx context.Context, v *api.View, b meta.Bucket, prefix, start string, limit int) ([]api.ObjectEntry, bool, error) {
	targets := listTargets(v.Snap)
	if len(targets) == 0 {
		return nil, false, fmt.Errorf("gateway: list %s: %w", b.Name, meta.ErrNoTargets)
	}
	if err := listComplete(v.Snap, b.Name); err != nil {
		return nil, false, err
	}
	lr := listRequest{Prefix: prefix, Start: start, Limit: limit}
	pages := make([]targetPage, len(targets))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(32)
	for i, t := range targets {
		eg.Go(func() error {
			ol, err := g.listTarget(ectx, t, b.Name, lr, v.Snap.Epoch, "")
			if err != nil {
				return err
			}
			pages[i] = targetPage{Target: t.ID, List: ol.ObjectList, Tombs: ol.Tombstones}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, false, err
	}
	owner := func(obj string) string {
		n, _ := v.Placement.Owner(meta.ObjectKey(b.Key(), obj))
		return n.ID
	}
	entries, more := mergePages(pages, start, prefix, limit, owner)
	return entries, more, nil
}

// skipPast is the smallest start that skips every name beginning with p: valid names are
// UTF-8, in which the byte 0xff never occurs.
func skipPast(p string) string { return p + "\xff" }

// listing is one page of ListObjects (v1 or v2) before it is written out.
type listing struct {
	objects   []api.ObjectEntry
	prefixes  []string
	truncated bool
	next      string // where the next page starts (a name, or skipPast of a common prefix)
	last      string // the last key or common prefix returned
}

// s3Collect pages through the targets' listings from start and groups names into common
// prefixes at the delimiter, until maxKeys keys and prefixes are collected.
func (g *Gateway) s3Collect(ctx context.Context, v *api.View, b meta.Bucket, prefix, delim, start string, maxKeys int) (*listing, error) {
	out := &listing{}
	if maxKeys == 0 {
		entries, _, err := g.s3ListPage(ctx, v, b, prefix, start, 1)
		out.truncated = err == nil && len(entries) > 0
		return out, err
	}
	cur := start
	lastCP := ""
	for {
		page := min(max(maxKeys-len(out.objects)-len(out.prefixes)+1, 100), api.MaxListLimit)
		entries, more, err := g.s3ListPage(ctx, v, b, prefix, cur, page)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Name <= cur {
				continue
			}
			if delim != "" {
				if i := strings.Index(e.Name[len(prefix):], delim); i >= 0 {
					cp := e.Name[:len(prefix)+i+len(delim)]
					if cp == lastCP || cp <= start {
						cur = max(cur, e.Name)
						continue
					}
					if len(out.objects)+len(out.prefixes) == maxKeys {
						out.truncated = true
						return out, nil
					}
					out.prefixes = append(out.prefixes, cp)
					lastCP, out.last, out.next = cp, cp, skipPast(cp)
					cur = max(cur, e.Name)
					continue
				}
			}
			if len(out.objects)+len(out.prefixes) == maxKeys {
				out.truncated = true
				return out, nil
			}
			out.objects = append(out.objects, e)
			out.last, out.next, cur = e.Name, e.Name, e.Name
		}
		if !more {
			return out, nil
		}
		if lastCP != "" && strings.HasPrefix(cur, lastCP) {
			cur = skipPast(lastCP) // skip the rest of the common prefix at once
		}
	}
}

// s3Encode applies encoding-type=url to a key or prefix.
func s3Encode(s string, enc bool) string {
	if !enc {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// s3ListObjects is ListObjects (v1) and ListObjectsV2 (list-type=2).
func (g *Gateway) s3ListObjects(sr *s3Req) error {
	v, b, err := g.s3Bucket(sr, accRead)
	if err != nil {
		return err
	}
	q := sr.query
	v2 := q.Get("list-type") == "2"
	if lt := q.Get("list-type"); lt != "" && lt != "2" {
		return fmt.Errorf("%w: list-type %q", errS3InvalidArgument, lt)
	}
	enc := false
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		enc = true
	default:
		return fmt.Errorf("%w: encoding-type %q: only url is valid", errS3InvalidArgument, et)
	}
	maxKeys := 1000
	if mk := q.Get("max-keys"); mk != "" {
		n, err := strconv.Atoi(mk)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: max-keys %q must be a whole number", errS3InvalidArgument, mk)
		}
		maxKeys = min(n, 1000)
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	start := ""
	res := listBucketResult{NS: s3NS, Name: b.Name, Prefix: s3Encode(prefix, enc), MaxKeys: maxKeys,
		Delimiter: s3Encode(delim, enc)}
	if enc {
		res.EncodingType = "url"
	}
	if v2 {
		start = q.Get("start-after")
		res.StartAfter = s3Encode(start, enc)
		if tok := q.Get("continuation-token"); tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return fmt.Errorf("%w: the continuation token provided is incorrect", errS3InvalidArgument)
			}
			res.ContToken = tok
			start = max(start, string(raw))
		}
	} else {
		marker := q.Get("marker")
		start = marker
		m := s3Encode(marker, enc)
		res.Marker = &m
	}
	l, err := g.s3Collect(sr.r.Context(), v, b, prefix, delim, start, maxKeys)
	if err != nil {
		return err
	}
	res.IsTruncated = l.truncated
	var owner *s3Owner
	if !v2 || q.Get("fetch-owner") == "true" {
		o := ownerOf(b.Owner)
		owner = &o
	}
	for _, e := range l.objects {
		etag := e.ETag
		if etag == "" {
			etag = strconv.FormatUint(e.Version, 10)
		}
		res.Contents = append(res.Contents, s3Object{Key: s3Encode(e.Name, enc), LastModified: s3Time(e.Mtime),
			ETag: `"` + etag + `"`, Size: e.Size, StorageClass: "STANDARD", Owner: owner})
	}
	for _, p := range l.prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, s3Prefix{Prefix: s3Encode(p, enc)})
	}
	if v2 {
		kc := len(l.objects) + len(l.prefixes)
		res.KeyCount = &kc
		if l.truncated {
			res.NextContToken = base64.RawURLEncoding.EncodeToString([]byte(l.next))
		}
	} else if l.truncated && delim != "" {
		res.NextMarker = s3Encode(l.last, enc)
	}
	return writeXML(sr, http.StatusOK, res)
}
