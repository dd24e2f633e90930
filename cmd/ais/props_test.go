package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aisfoundry/ais/meta"
)

func TestPropsPatch(t *testing.T) {
	cur := meta.DefaultBucketProps()
	tests := []struct {
		name    string
		kvs     []string
		want    string
		wantErr string
	}{
		{name: "string", kvs: []string{"checksum.type=md5"}, want: `{"checksum":{"type":"md5"}}`},
		{name: "int bool and merge of one group", kvs: []string{"mirror.copies=2", "write.fsync=false", "checksum.validate_read=yes", "checksum.type=sha256"},
			want: `{"checksum":{"type":"sha256","validate_read":true},"mirror":{"copies":2},"write":{"fsync":false}}`},
		{name: "top-level bool", kvs: []string{"versioning=off"}, want: `{"versioning":false}`},
		{name: "size with unit", kvs: []string{"ec.objsize_limit=256KiB"}, want: `{"ec":{"objsize_limit":262144}}`},
		{name: "last wins", kvs: []string{"mirror.copies=2", "mirror.copies=3"}, want: `{"mirror":{"copies":3}}`},
		{name: "spaces trimmed", kvs: []string{" mirror.copies = 4 "}, want: `{"mirror":{"copies":4}}`},
		{name: "string keeps '='", kvs: []string{"checksum.type=a=b"}, want: `{"checksum":{"type":"a=b"}}`},
		{name: "unknown key suggests", kvs: []string{"checksum.typ=md5"}, wantErr: `unknown bucket property "checksum.typ"; did you mean "checksum.type"?`},
		{name: "unknown key by last component", kvs: []string{"copies=2"}, wantErr: `did you mean "mirror.copies"?`},
		{name: "unknown key lists", kvs: []string{"zzzzzzzzzzzz=1"}, wantErr: "known properties: access.public_read, checksum.type,"},
		{name: "group", kvs: []string{"mirror=2"}, wantErr: `"mirror" is a group of properties; set one of: mirror.copies, mirror.sync`},
		{name: "below a leaf", kvs: []string{"mirror.copies.x=2"}, wantErr: "unknown bucket property"},
		{name: "bad bool", kvs: []string{"write.fsync=maybe"}, wantErr: "want true or false"},
		{name: "bad int", kvs: []string{"mirror.copies=two"}, wantErr: "want an integer"},
		{name: "bad size", kvs: []string{"ec.objsize_limit=big"}, wantErr: "want a number of bytes"},
		{name: "no equals", kvs: []string{"mirror.copies"}, wantErr: "is not KEY=VALUE"},
		{name: "empty key", kvs: []string{"=1"}, wantErr: "is not KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := propsPatch(cur, tt.kvs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("patch = %s, want %s", got, tt.want)
			}
			// The document is what the server applies: it must patch cleanly.
			if _, err := cur.Patch(got); err != nil && !strings.Contains(tt.want, "a=b") {
				t.Errorf("meta.BucketProps.Patch(%s): %v", got, err)
			}
		})
	}
}

func TestFlattenProps(t *testing.T) {
	got, err := flattenProps(meta.DefaultBucketProps())
	if err != nil {
		t.Fatal(err)
	}
	want := []prop{
		{"checksum.type", "highway"}, {"checksum.validate_read", "false"},
		{"versioning", "true"},
		{"write.fsync", "true"},
		{"mirror.copies", "1"}, {"mirror.sync", "false"},
		{"ec.enabled", "false"}, {"ec.data", "2"}, {"ec.parity", "1"}, {"ec.objsize_limit", "262144"}, {"ec.full_copy", "true"},
		{"access.public_read", "false"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flattenProps (-want +got):\n%s", diff)
	}
}

func TestPropChanges(t *testing.T) {
	a := meta.DefaultBucketProps()
	b := a
	b.Checksum.Type = "md5"
	b.Mirror.Copies = 2
	got, err := propChanges(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"checksum.type: highway -> md5", "mirror.copies: 1 -> 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("propChanges (-want +got):\n%s", diff)
	}
}

func TestSplitProps(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"a=1"}, []string{"a=1"}},
		{[]string{"a=1,b.c=2", "d=3"}, []string{"a=1", "b.c=2", "d=3"}},
		{[]string{"a=x,y"}, []string{"a=x,y"}},
		{[]string{"a=x, y=1"}, []string{"a=x", " y=1"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitProps(tt.in)); diff != "" {
			t.Errorf("splitProps(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestExpandProps(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"create ais://b --props a=1 b=2", "create ais://b --props a=1 --props b=2"},
		{"create ais://b -p a=1 b=2 ais://c", "create ais://b -p a=1 --props b=2 ais://c"},
		{"create ais://b --props=a=1 b=2 --props c=3", "create ais://b --props=a=1 --props b=2 --props c=3"},
		{"ls ais://b --props name,size x=y", "ls ais://b --props name,size x=y"},
		{"create ais://b --props a=1 -- b=2", "create ais://b --props a=1 -- b=2"},
		{"create --props a=1 ais://b=c", "create --props a=1 ais://b=c"},
	}
	for _, tt := range tests {
		got := strings.Join(expandProps(strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("expandProps(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
