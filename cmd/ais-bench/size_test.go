package main

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4096", 4096, true},
		{"4KiB", 4 << 10, true},
		{"4k", 4 << 10, true},
		{"1MiB", 1 << 20, true},
		{"16M", 16 << 20, true},
		{"1.5MiB", 3 << 19, true},
		{"100MB", 100_000_000, true},
		{" 2 GiB ", 2 << 30, true},
		{"10b", 10, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"1XB", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{0: "0B", 1000: "1000B", 4096: "4KiB", 16 << 20: "16MiB", 3 << 19: "1536KiB", 1500: "1.5KiB", 1 << 30: "1GiB"}
	for in, want := range tests {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}
