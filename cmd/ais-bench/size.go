package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// byteSize is a flag value in bytes that takes units: 4KiB, 1MiB, 16M, 100MB, 512.
type byteSize int64

// UnmarshalText lets kong parse a byteSize flag.
func (b *byteSize) UnmarshalText(text []byte) error {
	n, err := parseSize(string(text))
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func (b byteSize) String() string { return formatSize(int64(b)) }

var units = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1000}, {"mb", 1000_000}, {"gb", 1000_000_000}, {"tb", 1000_000_000_000},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// parseSize reads a byte count: an integer or decimal number with an optional unit (KiB, MiB,
// GiB, TiB; K, M, G, T are binary too; KB, MB, GB, TB are decimal). Case does not matter.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	if t == "" {
		return 0, fmt.Errorf("size %q: no number", s)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/mult {
			return 0, fmt.Errorf("size %q is out of range", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is not a byte count (examples: 4096, 4KiB, 1.5MiB, 16M)", s)
	}
	return int64(f * float64(mult)), nil
}

// formatSize writes a byte count in the largest binary unit that divides it, or with one
// decimal: 4KiB, 16MiB, 1.5MiB, 1000B.
func formatSize(n int64) string {
	names := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i, v := 0, n
	for i < len(names)-1 && v >= 1024 && v%1024 == 0 {
		v /= 1024
		i++
	}
	if i == 0 && n >= 1024 {
		f := float64(n)
		for i = 0; f >= 1024 && i < len(names)-1; i++ {
			f /= 1024
		}
		return strconv.FormatFloat(f, 'f', 1, 64) + names[i]
	}
	return strconv.FormatInt(v, 10) + names[i]
}
