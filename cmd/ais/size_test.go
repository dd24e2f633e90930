package main

import (
	"testing"
	"time"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1023, "1023B"},
		{1024, "1.0KiB"},
		{1536, "1.5KiB"},
		{10*1024 - 1, "10.0KiB"},
		{99*1024 + 1000, "100KiB"},
		{1023 * 1024, "1023KiB"},
		{1024*1024 - 1, "1.0MiB"},
		{15*1024*1024 + 300*1024, "15.3MiB"},
		{120 << 30, "120GiB"},
		{5 << 40, "5.0TiB"},
		{-2048, "-2.0KiB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.in); got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false},
		{"4096", 4096, false},
		{"4KiB", 4096, false},
		{"4k", 4096, false},
		{"1.5MiB", 3 << 19, false},
		{"2 GiB", 2 << 30, false},
		{"1MB", 1000000, false},
		{"10b", 10, false},
		{"-1", 0, true},
		{"KiB", 0, true},
		{"12XB", 0, true},
		{"", 0, true},
		{"99999999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{1400 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{185 * time.Second, "3m05s"},
		{2*time.Hour + 7*time.Minute + 30*time.Second, "2h07m"},
		{-time.Second, "0s"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.in); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
