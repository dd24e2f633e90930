package main

import (
	"context"
	"sort"
	"strconv"

	"github.com/aisfoundry/ais/api"
)

// ShowStorageCmd is "ais show storage": capacity per target and per mountpath, from the
// targets' /metrics (their control URLs must be reachable from here).
type ShowStorageCmd struct {
	jsonFlag
}

// mountpathRow is one mountpath's file system.
type mountpathRow struct {
	Target    string  `json:"target"`
	Mountpath string  `json:"mountpath"`
	Capacity  float64 `json:"capacity"`
	Used      float64 `json:"used"`
	Available float64 `json:"available"`
	Error     string  `json:"error,omitempty"`
}

// Run shows the storage.
func (c *ShowStorageCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	ci, err := cl.Cluster(ctx)
	if err != nil {
		return err
	}
	var rows []mountpathRow
	for _, s := range scrapeTargets(ctx, targetsOf(ci)) {
		if s.err != nil {
			rows = append(rows, mountpathRow{Target: s.id, Error: s.err.Error()})
			continue
		}
		byMP := map[string]*mountpathRow{}
		for name, set := range map[string]func(r *mountpathRow, v float64){
			"ais_target_mountpath_capacity_bytes":  func(r *mountpathRow, v float64) { r.Capacity = v },
			"ais_target_mountpath_used_bytes":      func(r *mountpathRow, v float64) { r.Used = v },
			"ais_target_mountpath_available_bytes": func(r *mountpathRow, v float64) { r.Available = v },
		} {
			for _, m := range series(s.fams, name, nil) {
				mp := labelOf(m, "mountpath")
				r := byMP[mp]
				if r == nil {
					r = &mountpathRow{Target: s.id, Mountpath: mp}
					byMP[mp] = r
				}
				set(r, m.GetGauge().GetValue())
			}
		}
		var mps []string
		for mp := range byMP {
			mps = append(mps, mp)
		}
		sort.Strings(mps)
		for _, mp := range mps {
			rows = append(rows, *byMP[mp])
		}
	}
	if c.JSON {
		return writeJSON(con.Out, rows)
	}
	t := newTable("TARGET", "MOUNTPATH", ">USED", ">AVAIL", ">TOTAL", ">USE%")
	var tc, tu, ta float64
	cur := ""
	var sc, su, sa float64
	flush := func() {
		if cur != "" {
			t.add(cur, "(all)", humanSize(int64(su)), humanSize(int64(sa)), humanSize(int64(sc)), pct(su, sc))
		}
	}
	for _, r := range rows {
		if r.Target != cur {
			flush()
			cur, sc, su, sa = r.Target, 0, 0, 0
		}
		if r.Error != "" {
			t.add(r.Target, "unreachable: "+r.Error, "-", "-", "-", "-")
			continue
		}
		t.add(r.Target, r.Mountpath, humanSize(int64(r.Used)), humanSize(int64(r.Available)), humanSize(int64(r.Capacity)), pct(r.Used, r.Capacity))
		sc, su, sa = sc+r.Capacity, su+r.Used, sa+r.Available
		tc, tu, ta = tc+r.Capacity, tu+r.Used, ta+r.Available
	}
	flush()
	t.add("TOTAL", "", humanSize(int64(tu)), humanSize(int64(ta)), humanSize(int64(tc)), pct(tu, tc))
	return t.write(con.Out)
}

func pct(used, total float64) string {
	if total <= 0 {
		return "-"
	}
	return strconv.FormatFloat(100*used/total, 'f', 1, 64) + "%"
}
