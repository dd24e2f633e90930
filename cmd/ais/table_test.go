package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTable(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{
			name:   "left and right aligned",
			header: []string{"NAME", ">SIZE", "CHECKSUM"},
			rows:   [][]string{{"a", "1.0KiB", "md5:00"}, {"longer/name", "12B", "-"}},
			want: "" +
				"NAME           SIZE  CHECKSUM\n" +
				"a            1.0KiB  md5:00\n" +
				"longer/name     12B  -\n",
		},
		{
			name:   "last column not padded, wide runes counted once",
			header: []string{"KEY", "VALUE"},
			rows:   [][]string{{"ünïcödé", "x"}, {"k", "a much longer value"}},
			want: "" +
				"KEY      VALUE\n" +
				"ünïcödé  x\n" +
				"k        a much longer value\n",
		},
		{
			name:   "missing cells and tabs",
			header: []string{"A", "B", "C"},
			rows:   [][]string{{"x\ty"}, {"1", "2", "3", "dropped"}},
			want: "" +
				"A    B  C\n" +
				"x y\n" +
				"1    2  3\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable(tt.header...)
			for _, r := range tt.rows {
				tb.add(r...)
			}
			var buf bytes.Buffer
			if err := tb.write(&buf); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}
