package main

import (
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// table prints aligned columns: a header row, then rows, two spaces between columns. Columns
// marked right-aligned (sizes, counts) are padded on the left. The last column is not padded.
type table struct {
	header []string
	right  []bool
	rows   [][]string
}

// newTable returns a table with the given column headers; a header that starts with '>' is
// right-aligned (the '>' is not printed).
func newTable(header ...string) *table {
	t := &table{header: make([]string, len(header)), right: make([]bool, len(header))}
	for i, h := range header {
		if r, ok := strings.CutPrefix(h, ">"); ok {
			t.header[i], t.right[i] = r, true
		} else {
			t.header[i] = h
		}
	}
	return t
}

// add appends a row; missing cells are empty, extra cells are dropped.
func (t *table) add(cells ...string) {
	row := make([]string, len(t.header))
	copy(row, cells)
	t.rows = append(t.rows, row)
}

// width is the display width of a cell: its runes, with tabs and newlines shown as spaces.
func width(s string) int { return utf8.RuneCountInString(s) }

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// write prints the table.
func (t *table) write(w io.Writer) error {
	widths := make([]int, len(t.header))
	all := append([][]string{t.header}, t.rows...)
	for _, row := range all {
		for i, c := range row {
			widths[i] = max(widths[i], width(clean(c)))
		}
	}
	var sb strings.Builder
	for _, row := range all {
		line := make([]string, 0, len(row))
		for i, c := range row {
			c = clean(c)
			pad := strings.Repeat(" ", widths[i]-width(c))
			switch {
			case t.right[i]:
				line = append(line, pad+c)
			case i == len(row)-1:
				line = append(line, c)
			default:
				line = append(line, c+pad)
			}
		}
		sb.WriteString(strings.TrimRight(strings.Join(line, "  "), " "))
		sb.WriteByte('\n')
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
