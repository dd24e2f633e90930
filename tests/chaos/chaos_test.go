package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/netns"
	"github.com/aisfoundry/ais/tests/chaos/testbed"
)

// Settings come from the environment (the Makefile sets them), so that `go test ./...` over
// the whole module needs no custom flags:
//
//	CHAOS_TIER     ci (default) or full
//	CHAOS_SEED     the seed of every scenario (default: a new one per run, printed)
//	CHAOS_KEEP     keep the files of passing runs too
//	CHAOS_OUT      where run directories go (default $TMPDIR/ais-chaos)
//	CHAOS_SUMMARY  write the results table (Markdown) to this file
//	AIS_BIN_DIR    use the binaries there instead of building them
var (
	runsMu sync.Mutex
	runs   []*Run
)

func TestMain(m *testing.M) {
	code := m.Run()
	if path := os.Getenv("CHAOS_SUMMARY"); path != "" && len(runs) > 0 {
		if err := os.WriteFile(path, []byte(summaryTable(runs)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: summary:", err)
		}
	}
	os.Exit(code)
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos tests run real clusters for minutes")
	}
	if err := netns.Check(); err != nil {
		t.Skipf("chaos tests need root, iproute2 and nftables: %v", err)
	}
	tier := os.Getenv("CHAOS_TIER")
	if tier == "" {
		tier = TierCI
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	out := os.Getenv("CHAOS_OUT")
	if out == "" {
		out = filepath.Join(os.TempDir(), "ais-chaos")
	}
	bin := binaries(t, out)
	t.Logf("tier %s, seed %d, files under %s", tier, seed, out)
	for _, sc := range Scenarios() {
		if tier == TierCI && sc.Tier != TierCI {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			dir := filepath.Join(out, fmt.Sprintf("%s-%s", sc.Name, time.Now().Format("20060102-150405")))
			r := Execute(context.Background(), sc, seed, dir, bin, t.Logf)
			r.Replay = fmt.Sprintf("cd tests/chaos && CHAOS_TIER=%s CHAOS_SEED=%d go test -count=1 -v -timeout 30m -run 'TestChaos/^%s$' .",
				tier, seed, sc.Name)
			_ = os.WriteFile(filepath.Join(dir, "replay"), []byte(r.Replay+"\n"), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "report.txt"), []byte(r.Report()), 0o644)
			runsMu.Lock()
			runs = append(runs, r)
			runsMu.Unlock()
			if !r.OK() {
				t.Errorf("%s", r.Report())
				return
			}
			t.Logf("%s", r.Report())
			if os.Getenv("CHAOS_KEEP") == "" {
				_ = os.RemoveAll(dir)
			}
		})
	}
}

// binaries returns the directory of the daemons: AIS_BIN_DIR, or a fresh build of the
// repository this module sits in.
func binaries(t *testing.T, out string) string {
	if dir := os.Getenv("AIS_BIN_DIR"); dir != "" && testbed.HasBinaries(dir) {
		return dir
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "bin")
	if err := testbed.Build(root, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
