package check

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Linearizable checks every key's operations against the register model with porcupine.
// timeout bounds the search per key (an undecided key makes the result inconclusive). When a
// key is not linearizable and dir is not empty, porcupine's HTML visualization of the failing
// keys is written to dir/linearizability.html.
func Linearizable(ops []history.Op, dir string, timeout time.Duration) *Result {
	r := newResult("linearizable")
	byKey := map[string][]history.Op{}
	for _, o := range ops {
		if o.F != history.List && o.Key != "" {
			byKey[o.Key] = append(byKey[o.Key], o)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	model := registerModel.ToModel()
	clients := map[string]int{}
	var bad []porcupine.Operation
	var badKeys []string
	for _, k := range keys {
		pops := registerOps(byKey[k], clients)
		r.Checked += len(pops)
		res, _ := porcupine.CheckOperationsVerbose(model, pops, timeout)
		switch res {
		case porcupine.Illegal:
			r.addf("key %s: not linearizable (%d operations)", k, len(pops))
			bad = append(bad, pops...)
			badKeys = append(badKeys, k)
		case porcupine.Unknown:
			r.Valid, r.Inconclusive = false, true
			r.Anomalies = append(r.Anomalies, fmt.Sprintf("key %s: undecided within %s", k, timeout))
		}
	}
	if len(bad) > 0 && dir != "" {
		m := model
		m.Partition = byMetadata
		m.DescribeOperationMetadata = func(md interface{}) string { return "key " + md.(string) }
		_, info := porcupine.CheckOperationsVerbose(m, bad, timeout)
		path := filepath.Join(dir, "linearizability.html")
		if err := porcupine.VisualizePath(m, info, path); err != nil {
			r.Anomalies = append(r.Anomalies, fmt.Sprintf("visualization: %v", err))
		} else {
			r.Artifacts = append(r.Artifacts, path)
		}
	}
	return r
}

// byMetadata partitions operations by their Metadata (the key), in order of first appearance.
func byMetadata(ops []porcupine.Operation) [][]porcupine.Operation {
	idx := map[interface{}]int{}
	var parts [][]porcupine.Operation
	for _, o := range ops {
		i, ok := idx[o.Metadata]
		if !ok {
			i = len(parts)
			idx[o.Metadata] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], o)
	}
	return parts
}
