package target

import (
	"errors"
	"strings"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func TestObjectRelPath(t *testing.T) {
	long := strings.Repeat("L", 300)
	tests := []struct {
		name   string
		want   string
		hashed bool
	}{
		{"a", "a", false},
		{"dir/sub/file", "dir/sub/file", false},
		{strings.Repeat("x", 255), strings.Repeat("x", 255), false},
		{long, hashComponent(long), true},
		{"d/" + long + "/f", "d/" + hashComponent(long) + "/f", true},
		{strings.Repeat("a/", 400) + "b", strings.Repeat("a/", 400) + "b", false},
	}
	for _, tc := range tests {
		got, hashed := objectRelPath(tc.name)
		if got != tc.want || hashed != tc.hashed {
			t.Errorf("objectRelPath(%.30q) = %.40q, %v; want %.40q, %v", tc.name, got, hashed, tc.want, tc.hashed)
		}
		for c := range strings.SplitSeq(got, "/") {
			if len(c) > meta.MaxNameComponentLen {
				t.Errorf("component of %d bytes in %.40q", len(c), got)
			}
		}
	}
	if hashComponent(long) == hashComponent(long+"x") {
		t.Error("different components hash alike")
	}
}

func TestObjectPathStaysInBucket(t *testing.T) {
	b := &meta.Bucket{Provider: meta.ProviderAIS, Name: "bkt", ID: 1}
	good := []string{"a", "a/b", "..a", "a..", "a/.b", "~ais-long-x"}
	for _, name := range good {
		p, err := objectPath("/mnt/d1", b, name)
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if !strings.HasPrefix(p, "/mnt/d1/@ais/bkt/") {
			t.Errorf("%q maps to %s", name, p)
		}
	}
	bad := []string{"", "..", "../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", "x\x00y"}
	for _, name := range bad {
		if p, err := objectPath("/mnt/d1", b, name); !errors.Is(err, meta.ErrInvalidObjectName) {
			t.Errorf("%q: got %q, %v; want ErrInvalidObjectName", name, p, err)
		}
	}
	for _, bucket := range []string{"..", "a/b", "../x", "A"} {
		bb := &meta.Bucket{Provider: meta.ProviderAIS, Name: bucket}
		if _, err := objectPath("/mnt/d1", bb, "x"); !errors.Is(err, meta.ErrInvalidBucketName) {
			t.Errorf("bucket %q: got %v, want ErrInvalidBucketName", bucket, err)
		}
	}
}
