package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var sizeUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// humanSize formats a byte count in binary units with at most three significant digits before
// a one-digit fraction: 0B, 1023B, 1.0KiB, 15.3MiB, 120GiB.
func humanSize(n int64) string {
	if n < 0 {
		return "-" + humanSize(-n)
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(sizeUnits)-1 {
		v /= 1024
		i++
	}
	// Round as printed, then carry into the next unit if rounding reached 1024.
	if v < 100 {
		v = math.Round(v*10) / 10
	} else {
		v = math.Round(v)
	}
	if v >= 1024 && i < len(sizeUnits)-1 {
		v /= 1024
		i++
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64) + sizeUnits[i]
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + sizeUnits[i]
}

// humanRate formats bytes per second.
func humanRate(bytesPerSec float64) string {
	if bytesPerSec < 0 || math.IsNaN(bytesPerSec) || math.IsInf(bytesPerSec, 0) {
		return "-"
	}
	return humanSize(int64(bytesPerSec)) + "/s"
}

// humanDuration formats a duration for a progress line: 45s, 3m05s, 2h07m.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}

// parseSize reads a byte count: a plain integer, or a number with a unit (B, KiB, MiB, GiB,
// TiB, or the decimal KB, MB, GB, TB; K, M, G, T are binary). Case does not matter.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := int64(1)
	switch unit {
	case "", "b":
	case "k", "ki", "kib":
		mult = 1 << 10
	case "m", "mi", "mib":
		mult = 1 << 20
	case "g", "gi", "gib":
		mult = 1 << 30
	case "t", "ti", "tib":
		mult = 1 << 40
	case "kb":
		mult = 1000
	case "mb":
		mult = 1000 * 1000
	case "gb":
		mult = 1000 * 1000 * 1000
	case "tb":
		mult = 1000 * 1000 * 1000 * 1000
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB, GiB, TiB)", s, t[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("size %q: no number", s)
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("size %q must not be negative", s)
		}
		if n > math.MaxInt64/mult {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) {
		return 0, fmt.Errorf("size %q is not a number of bytes", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(v), nil
}

// byteSize is a flag value that takes human sizes ("4MiB") as well as plain byte counts.
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
