package raftfsm

import (
	"bytes"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func TestReseed(t *testing.T) {
	m := New()
	if r := m.ApplyCommand(5, Command{Op: OpBucketCreate, Provider: meta.ProviderAIS, Bucket: "bucket1", Time: 1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	data := m.EncodeSnapshot()
	tests := []struct {
		name    string
		epoch   uint64
		wantErr bool
	}{
		{"same epoch", m.View().Epoch, false},
		{"raised", m.View().Epoch + 1000, false},
		{"lowered", m.View().Epoch - 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Reseed(data, tc.epoch)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := Restore(out)
			if err != nil {
				t.Fatal(err)
			}
			if r.View().Epoch != tc.epoch || r.Applied() != 5 {
				t.Fatalf("epoch %d applied %d", r.View().Epoch, r.Applied())
			}
			if _, ok := r.View().Bucket(meta.ProviderAIS, "bucket1"); !ok {
				t.Fatal("bucket lost")
			}
			if tc.epoch == m.View().Epoch && !bytes.Equal(out, data) {
				t.Fatal("reseeding at the same epoch changed the state")
			}
		})
	}
	if _, err := Reseed([]byte("junk"), 1); err == nil {
		t.Fatal("junk reseeded")
	}
}
