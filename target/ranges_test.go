package target

import (
	"errors"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func TestParseRange(t *testing.T) {
	const whole, bad = 1, 2
	tests := []struct {
		h       string
		size    int64
		off, n  int64
		outcome int // 0: partial, whole: 200 full, bad: 416
	}{
		{"", 10, 0, 10, whole},
		{"bytes=0-0", 10, 0, 1, 0},
		{"bytes=0-9", 10, 0, 10, 0},
		{"bytes=2-5", 10, 2, 4, 0},
		{"bytes=5-", 10, 5, 5, 0},
		{"bytes=5-100", 10, 5, 5, 0},
		{"bytes=9-9", 10, 9, 1, 0},
		{"bytes=-5", 10, 5, 5, 0},
		{"bytes=-10", 10, 0, 10, 0},
		{"bytes=-100", 10, 0, 10, 0},
		{"bytes=-99999999999999999999999", 10, 0, 10, 0},
		{"bytes=999-", 10, 0, 0, bad},
		{"bytes=10-", 10, 0, 0, bad},
		{"bytes=10-20", 10, 0, 0, bad},
		{"bytes=99999999999999999999999-", 10, 0, 0, bad},
		{"bytes=-0", 10, 0, 0, bad},
		{"bytes=0-0", 0, 0, 0, bad},
		{"bytes=-5", 0, 0, 0, bad},
		{"bytes=0-", 0, 0, 0, bad},
		{"Bytes=1-2", 10, 1, 2, 0},
		// Ignored: the whole object with 200, as S3 does.
		{"bytes=0-1,3-4", 10, 0, 10, whole},
		{"bytes=5-2", 10, 0, 10, whole},
		{"bytes=a-b", 10, 0, 10, whole},
		{"bytes=-", 10, 0, 10, whole},
		{"bytes=1", 10, 0, 10, whole},
		{"items=1-2", 10, 0, 10, whole},
		{"bytes=+1-2", 10, 0, 10, whole},
	}
	for _, tc := range tests {
		t.Run(tc.h, func(t *testing.T) {
			off, n, partial, err := parseRange(tc.h, tc.size)
			switch tc.outcome {
			case bad:
				if !errors.Is(err, meta.ErrRangeNotSatisfiable) {
					t.Fatalf("got %d+%d partial=%v err=%v; want ErrRangeNotSatisfiable", off, n, partial, err)
				}
				return
			case whole:
				if err != nil || partial || off != 0 || n != tc.size {
					t.Fatalf("got %d+%d partial=%v err=%v; want the whole object", off, n, partial, err)
				}
				return
			}
			if err != nil || !partial || off != tc.off || n != tc.n {
				t.Fatalf("got %d+%d partial=%v err=%v; want %d+%d partial", off, n, partial, err, tc.off, tc.n)
			}
		})
	}
}
