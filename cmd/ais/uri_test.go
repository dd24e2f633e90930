package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		bareOK  bool
		want    uri
		str     string
		wantErr string
	}{
		{in: "ais://imagenet", want: uri{Provider: "ais", Bucket: "imagenet"}, str: "ais://imagenet"},
		{in: "ais://imagenet/", want: uri{Provider: "ais", Bucket: "imagenet", HasSlash: true}, str: "ais://imagenet/"},
		{in: "ais://imagenet/train/0001.tar", want: uri{Provider: "ais", Bucket: "imagenet", Object: "train/0001.tar", HasSlash: true}, str: "ais://imagenet/train/0001.tar"},
		{in: "ais://b-1/dir/", want: uri{Provider: "ais", Bucket: "b-1", Object: "dir/", HasSlash: true}, str: "ais://b-1/dir/"},
		{in: "ais://b-1/a b?c#d%", want: uri{Provider: "ais", Bucket: "b-1", Object: "a b?c#d%", HasSlash: true}, str: "ais://b-1/a b?c#d%"},
		{in: "imagenet", bareOK: true, want: uri{Provider: "ais", Bucket: "imagenet"}, str: "ais://imagenet"},
		{in: "imagenet", wantErr: "is not a bucket or object address"},
		{in: "imagenet/x", bareOK: true, wantErr: "is not a bucket or object address"},
		{in: "", bareOK: true, wantErr: "is not a bucket or object address"},
		{in: "ais://", wantErr: "has no bucket name"},
		{in: "ais:///obj", wantErr: "has no bucket name"},
		{in: "ais://UPPER", wantErr: "invalid bucket name"},
		{in: "ais://ab", wantErr: "must be 3 to 63 characters"},
		{in: "s3://bucket/obj", wantErr: "s3:// buckets are not supported yet"},
		{in: "gs://bucket", wantErr: "gs:// buckets are not supported yet"},
		{in: "ais://@remote/bucket", wantErr: "remote clusters"},
		{in: "ftp://bucket", wantErr: `unknown scheme "ftp://"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseURI(tt.in, tt.bareOK)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseURI(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseURI(%q) (-want +got):\n%s", tt.in, diff)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestParseBucketAndObject(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(string) (uri, error)
		in      string
		wantErr string
	}{
		{"bucket", parseBucket, "ais://abc", ""},
		{"bucket with slash", parseBucket, "ais://abc/", ""},
		{"bare bucket", parseBucket, "abc", ""},
		{"bucket given object", parseBucket, "ais://abc/o", "names an object"},
		{"object", parseObject, "ais://abc/o/p", ""},
		{"object given bucket", parseObject, "ais://abc", "names a bucket"},
		{"object trailing slash", parseObject, "ais://abc/dir/", "invalid object name"},
		{"object dot-dot", parseObject, "ais://abc/a/../b", "invalid object name"},
		{"object bare", parseObject, "abc", "not a bucket or object address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.parse(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("%q: %v", tt.in, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("%q: error %v, want %q", tt.in, err, tt.wantErr)
			}
		})
	}
}
