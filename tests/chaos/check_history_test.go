package chaos

import (
	"os"
	"testing"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// TestCheckHistory runs every checker over a kept history again:
//
//	CHAOS_CHECK=/tmp/ais-chaos/<run>/history.jsonl go test -run TestCheckHistory -v .
func TestCheckHistory(t *testing.T) {
	path := os.Getenv("CHAOS_CHECK")
	if path == "" {
		t.Skip("set CHAOS_CHECK to a history.jsonl")
	}
	events, err := history.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Dir: t.TempDir(), ByType: map[string]int{}}
	r.check(events)
	for _, c := range r.Results {
		t.Logf("%s", c)
	}
	if !r.OK() {
		t.Errorf("%s", r.Report())
	}
}
