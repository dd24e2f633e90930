package check

import (
	"sort"
	"strings"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Listing checks every successful listing: it must name every key that certainly existed
// during the listing (an acknowledged write with no possible delete after it: otherwise the
// key is LOST from the listing) and no key that certainly did not exist (never written, or
// certainly deleted: a PHANTOM).
func Listing(ops []history.Op) *Result {
	r := newResult("listing completeness")
	writes := writesByKey(ops)
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, o := range ops {
		if o.F != history.List || o.Type != history.OK {
			continue
		}
		r.Checked++
		listed := map[string]bool{}
		for _, k := range o.Keys {
			listed[k] = true
			if !strings.HasPrefix(k, o.Prefix) {
				r.addf("list by %s at %s: %s does not have the prefix %q", o.Process, ms(o.Call), k, o.Prefix)
			}
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, o.Prefix) {
				continue
			}
			p := writes[k].possible(o.Call, o.Return)
			switch {
			case listed[k] && len(p) == 1 && p[absent]:
				r.addf("list by %s at %s: PHANTOM %s (certainly deleted)", o.Process, ms(o.Call), k)
			case !listed[k] && !p[absent]:
				r.addf("list by %s at %s: LOST %s (acknowledged %v, no delete possible)", o.Process, ms(o.Call),
					k, writes[k].acknowledged(o.Call, o.Return))
			}
		}
		for k := range listed {
			if _, ok := writes[k]; !ok && strings.HasPrefix(k, o.Prefix) {
				r.addf("list by %s at %s: PHANTOM %s (never written)", o.Process, ms(o.Call), k)
			}
		}
	}
	return r
}
