package meta

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateObjectName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"dir/sub/file.tar", true},
		{"ünïcode/名前", true},
		{"..hidden", true},
		{"a..b", true},
		{strings.Repeat("x", 1024), true},
		{strings.Repeat("x", 300) + "/y", true}, // long component: stored hashed, still valid
		{"", false},
		{strings.Repeat("x", 1025), false},
		{"../etc/passwd", false},
		{"a/../b", false},
		{"a/..", false},
		{"./a", false},
		{"/abs", false},
		{"a//b", false},
		{"a/", false},
		{"nul\x00byte", false},
		{"bad\xffutf8", false},
	}
	for _, tc := range tests {
		err := ValidateObjectName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateObjectName(%.40q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidObjectName) {
			t.Errorf("error %v is not ErrInvalidObjectName", err)
		}
	}
}

func TestValidateBucketName(t *testing.T) {
	tests := []struct {
		name, rule string
	}{
		{"abc", ""},
		{"my-bucket.v2_x", ""},
		{"ab", "3 to 63"},
		{strings.Repeat("a", 64), "3 to 63"},
		{"Upper", "lowercase"},
		{"-abc", "start and end"},
		{"abc.", "start and end"},
		{"a..b", `".."`},
		{"a b c", "lowercase"},
		{"a/b/c", "lowercase"},
	}
	for _, tc := range tests {
		err := ValidateBucketName(tc.name)
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%q: unexpected %v", tc.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidBucketName) || !strings.Contains(err.Error(), tc.rule) {
			t.Errorf("%q: got %v, want ErrInvalidBucketName mentioning %q", tc.name, err, tc.rule)
		}
	}
}

func TestBucketPropsPatch(t *testing.T) {
	p := DefaultBucketProps()
	q, err := p.Patch([]byte(`{"checksum":{"type":"md5"},"mirror":{"copies":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if q.Checksum.Type != "md5" || q.Mirror.Copies != 2 || !q.Write.Fsync {
		t.Fatalf("patch result %+v", q)
	}
	for _, doc := range []string{`{"checksum":{"type":"crc64"}}`, `{"nosuch":1}`, `{"mirror":{"copies":0}}`, `{`} {
		if _, err := p.Patch([]byte(doc)); !errors.Is(err, ErrInvalidBucketProps) {
			t.Errorf("patch %s: got %v, want ErrInvalidBucketProps", doc, err)
		}
	}
}

func BenchmarkValidateObjectName(b *testing.B) {
	name := "train/images/class-0042/sample-0000123456.jpg"
	for i := 0; i < b.N; i++ {
		_ = ValidateObjectName(name)
	}
}
