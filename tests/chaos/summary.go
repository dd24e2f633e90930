package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// summaryTable is the Markdown results table of a set of runs.
func summaryTable(runs []*Run) string {
	var sb strings.Builder
	sb.WriteString("| scenario | result | seed | time | operations (ok/fail/info) | faults injected | anomalies | recovery after heal (median / max) |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|\n")
	var ops, faults, anomalies int
	var total time.Duration
	var all []time.Duration
	for _, r := range runs {
		result := "pass"
		switch {
		case !r.OK():
			result = "**FAIL**"
		case r.Scenario.Expect != "":
			result = "caught (control)"
		}
		rec := "-"
		if len(r.Nemesis.Recoveries) > 0 {
			rec = fmt.Sprintf("%s / %s", msec(median(r.Nemesis.Recoveries)), msec(slices.Max(r.Nemesis.Recoveries)))
		}
		fmt.Fprintf(&sb, "| %s | %s | %d | %s | %d (%d/%d/%d) | %d | %d | %s |\n", r.Scenario.Name, result, r.Seed,
			r.Elapsed.Round(time.Second), r.Ops, r.ByType["ok"], r.ByType["fail"], r.ByType["info"],
			r.Nemesis.Faults, r.Anomalies(), rec)
		ops += r.Ops
		faults += r.Nemesis.Faults
		if r.Scenario.Expect == "" {
			anomalies += r.Anomalies()
		}
		total += r.Elapsed
		all = append(all, r.Nemesis.Recoveries...)
	}
	rec := "-"
	if len(all) > 0 {
		rec = fmt.Sprintf("%s / %s", msec(median(all)), msec(slices.Max(all)))
	}
	fmt.Fprintf(&sb, "| **%d runs** | | | %s | %d | %d | %d | %s |\n", len(runs), total.Round(time.Second), ops, faults, anomalies, rec)
	return sb.String()
}

// msec formats a duration in whole milliseconds.
func msec(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
