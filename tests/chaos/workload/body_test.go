package workload

import (
	"strings"
	"testing"
)

func TestBody(t *testing.T) {
	good := Body("reg/k 1", "c3-17", 1000)
	cases := []struct {
		name  string
		key   string
		data  []byte
		write string
		err   string
	}{
		{"intact", "reg/k 1", good, "c3-17", ""},
		{"empty payload", "a", Body("a", "w", 0), "w", ""},
		{"misplaced", "reg/other", good, "c3-17", "MISPLACED"},
		{"torn", "reg/k 1", good[:len(good)-1], "c3-17", "TORN"},
		{"damaged", "reg/k 1", flip(good, len(good)-10), "c3-17", "DAMAGED"},
		{"garbage", "reg/k 1", []byte("hello"), "", "no header"},
		{"other header", "reg/k 1", []byte("X key=a write=b len=0 sha256=00\n"), "", "bad header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Decode(tc.key, tc.data)
			if w != tc.write {
				t.Errorf("write = %q, want %q", w, tc.write)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
	if string(Body("k", "w1", 64)) == string(Body("k", "w2", 64)) {
		t.Error("two writes have the same bytes")
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}
