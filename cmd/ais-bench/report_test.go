package main

import (
	"strings"
	"testing"
	"time"
)

func TestSpliceReport(t *testing.T) {
	doc := "# Perf\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\n## Gaps\n\nprose\n"
	got := string(spliceReport([]byte(doc), "new table\n"))
	want := "# Perf\n\nintro\n\n" + beginMarker + "\nnew table\n" + endMarker + "\n\n## Gaps\n\nprose\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(spliceReport([]byte("# Perf"), "t\n")); got != "# Perf\n\n"+beginMarker+"\nt\n"+endMarker+"\n" {
		t.Fatalf("no markers: %q", got)
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/aisfoundry/ais/meta
BenchmarkOwner10-2   	 3000000	       381.1 ns/op	       0 B/op	       0 allocs/op
PASS
pkg: github.com/aisfoundry/ais/codec
BenchmarkHash/highway-2         	     574	    706510 ns/op	1484.16 MB/s	      32 B/op	       1 allocs/op
`
	got := parseGoBench([]byte(out))
	if len(got) != 2 || got[0] != (goBench{"meta.BenchmarkOwner10", "381.1", "", "0", "0"}) ||
		got[1] != (goBench{"codec.BenchmarkHash/highway", "706510", "1484.16", "32", "1"}) {
		t.Fatalf("%+v", got)
	}
}

func TestRenderReport(t *testing.T) {
	r := func(mibs float64) Result { return Result{MiBPerSec: mibs, OpsPerSec: mibs} }
	mr := &MatrixResult{Date: time.Unix(1_750_000_000, 0).UTC(), Commit: "abc", Rounds: 2, Duration: "4s",
		Cells: []Cell{
			{Size: 1 << 20, Op: opGet, Mode: modeHTTP, Workers: 8, Best: r(1000)},
			{Size: 1 << 20, Op: opGet, Mode: modeRedirect, Workers: 8, Best: r(900)},
			{Size: 1 << 20, Op: opGet, Mode: modeGateway, Workers: 8, Best: r(500)},
			{Size: 1 << 20, Op: opGet, Mode: modeS3, Note: "not measured: no S3 here"},
		}}
	pts := []ScalePoint{{Targets: 1, CapMiBps: 32, Put: r(30), Get: r(30)}, {Targets: 2, CapMiBps: 32, Objects: 480, Put: r(60), Get: r(50)}}
	out := renderReport(mr, pts, nil)
	for _, want := range []string{
		"| 1MiB | GET | native, redirect | 8 | 900 | 900 |", "| 1000 | 0.90 | ≥ 0.85: met |",
		"| 1000 | 0.50 | ≥ 0.60: **not met** |", "not measured [1]", "[1] no S3 here",
		"| 2 | 64 MiB/s | 60.0 | 1.00 | 480 | 50.0 | 0.83 (**below goal**) | - |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
