package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aisfoundry/ais/meta"
)

func TestListPaging(t *testing.T) {
	s := openTestStore(t, tempMountpaths(t, 3))
	b := testBucket("bkt", 1, `{"write":{"fsync":false}}`)
	other := testBucket("other", 2, `{"write":{"fsync":false}}`)
	var all []string
	add := func(name string) {
		mustPut(t, s, b, name, name)
		all = append(all, name)
	}
	// (A name cannot be both an object and the directory of another: "a" and "a/b" do not
	// coexist on one mountpath.)
	// Names around '/' in byte order ('-' < '.' < '/' < '0' < 'b') catch wrong directory pruning.
	for _, n := range []string{"a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a0", "ab", "b/a/a/a", "b0", "zz",
		strings.Repeat("L", 300) + "/x", "a/" + strings.Repeat("M", 256)} {
		add(n)
	}
	for i := range 120 {
		add(fmt.Sprintf("train/%02d/sample-%04d.jpg", i%7, i))
	}
	mustPut(t, s, other, "a/zzz", "not in bkt")
	slices.Sort(all)

	filter := func(prefix, after string) []string {
		var out []string
		for _, n := range all {
			if strings.HasPrefix(n, prefix) && n > after {
				out = append(out, n)
			}
		}
		return out
	}
	for _, prefix := range []string{"", "a", "a/", "a/c", "train/0", "train/03/", "nope", strings.Repeat("L", 10)} {
		for _, limit := range []int{1, 3, 7, 1000} {
			t.Run(fmt.Sprintf("%.12s/%d", prefix, limit), func(t *testing.T) {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > 500 {
						t.Fatal("listing does not end")
					}
					page, more, err := s.List(context.Background(), b, ListArgs{Prefix: prefix, StartAfter: after, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > limit {
						t.Fatalf("page of %d > limit %d", len(page), limit)
					}
					for _, m := range page {
						got = append(got, m.Name)
						if m.Size != int64(len(m.Name)) || m.Version != 1 || m.BucketID != 1 {
							t.Fatalf("entry %+v", m)
						}
					}
					if !more {
						break
					}
					if len(page) != limit {
						t.Fatalf("short page (%d of %d) with more to come", len(page), limit)
					}
					after = page[len(page)-1].Name
				}
				if diff := cmp.Diff(filter(prefix, ""), got); diff != "" {
					t.Fatalf("listing (-want +got):\n%s", diff)
				}
			})
		}
	}
	// start_after in the middle of names and between them.
	for _, after := range []string{"a", "a/", "a/c", "a/c/d", "a0", "train/03", "train/03/sample-0100.jpg", "zz", "~"} {
		page, _, err := s.List(context.Background(), b, ListArgs{StartAfter: after, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range page {
			got = append(got, m.Name)
		}
		if diff := cmp.Diff(filter("", after), got); diff != "" {
			t.Errorf("start_after %q (-want +got):\n%s", after, diff)
		}
	}
	if _, _, err := s.List(context.Background(), b, ListArgs{Limit: 0}); !errors.Is(err, meta.ErrInvalidRequest) {
		t.Fatalf("limit 0: %v", err)
	}
	if got, more, err := s.List(context.Background(), testBucket("empty", 3, ""), ListArgs{Limit: 5}); err != nil || more || len(got) != 0 {
		t.Fatalf("empty bucket: %v %v %v", got, more, err)
	}
}
