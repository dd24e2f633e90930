package gateway

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

func TestToken(t *testing.T) {
	for _, name := range []string{"a", "dir/sub/x y", "日本/é", "%2F?#&=+", strings.Repeat("z", 1024)} {
		tok := encodeToken(name)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q of %q is not URL-safe", tok, name)
		}
		got, err := decodeToken(tok)
		if err != nil || got != name {
			t.Errorf("decodeToken(encodeToken(%q)) = %q, %v", name, got, err)
		}
	}
	if _, err := decodeToken("not base64!"); !errors.Is(err, meta.ErrInvalidRequest) {
		t.Errorf("bad token err = %v", err)
	}
}

func TestParseListRequest(t *testing.T) {
	tests := []struct {
		q       string
		want    listRequest
		wantErr bool
	}{
		{q: "", want: listRequest{Limit: 1000}},
		{q: "limit=0", want: listRequest{Limit: 1000}},
		{q: "limit=5&prefix=dir/", want: listRequest{Prefix: "dir/", Limit: 5}},
		{q: "limit=50000", want: listRequest{Limit: 10000}},
		{q: "start_after=b", want: listRequest{Start: "b", Limit: 1000}},
		{q: "start_after=b&token=" + encodeToken("c"), want: listRequest{Start: "c", Limit: 1000}},
		{q: "start_after=d&token=" + encodeToken("c"), want: listRequest{Start: "d", Limit: 1000}},
		{q: "limit=-1", wantErr: true},
		{q: "limit=ten", wantErr: true},
		{q: "token=***", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.q)
			got, err := parseListRequest(q)
			if tt.wantErr {
				if !errors.Is(err, meta.ErrInvalidRequest) {
					t.Fatalf("err = %v, want InvalidRequest", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func entries(names ...string) []api.ObjectEntry {
	out := make([]api.ObjectEntry, len(names))
	for i, n := range names {
		out[i] = api.ObjectEntry{Name: n, Size: int64(len(n))}
	}
	return out
}

func names(es []api.ObjectEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

func noOwner(string) string { return "" }

func TestMergePages(t *testing.T) {
	tests := []struct {
		name     string
		pages    []targetPage
		start    string
		prefix   string
		limit    int
		want     []string
		wantMore bool
	}{
		{
			name: "interleaved, complete",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("a", "c", "e")}},
				{Target: "t2", List: api.ObjectList{Entries: entries("b", "d")}},
				{Target: "t3"},
			},
			limit: 10, want: []string{"a", "b", "c", "d", "e"},
		},
		{
			name: "duplicates across targets appear once",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("a", "b", "c")}},
				{Target: "t2", List: api.ObjectList{Entries: entries("b", "c", "d")}},
				{Target: "t3", List: api.ObjectList{Entries: entries("c")}},
			},
			limit: 10, want: []string{"a", "b", "c", "d"},
		},
		{
			name: "limit cuts the merge; more remain",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("a", "c")}},
				{Target: "t2", List: api.ObjectList{Entries: entries("b", "d")}},
			},
			limit: 3, want: []string{"a", "b", "c"}, wantMore: true,
		},
		{
			name: "limit equals the total; nothing remains",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("a", "c")}},
				{Target: "t2", List: api.ObjectList{Entries: entries("b")}},
			},
			limit: 3, want: []string{"a", "b", "c"},
		},
		{
			name: "a truncated target bounds the page",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("a", "b"), NextToken: "b"}},
				{Target: "t2", List: api.ObjectList{Entries: entries("c", "d")}},
			},
			limit: 10, want: []string{"a", "b"}, wantMore: true,
		},
		{
			name: "start and prefix filter defensively",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("a/1", "a/2", "b/1")}},
				{Target: "t2", List: api.ObjectList{Entries: entries("a/3")}},
			},
			start: "a/1", prefix: "a/", limit: 10, want: []string{"a/2", "a/3"},
		},
		{
			name: "unsorted answer is sorted",
			pages: []targetPage{
				{Target: "t1", List: api.ObjectList{Entries: entries("c", "a")}},
				{Target: "t2", List: api.ObjectList{Entries: entries("b")}},
			},
			limit: 10, want: []string{"a", "b", "c"},
		},
		{
			name:  "nothing at all",
			pages: []targetPage{{Target: "t1"}, {Target: "t2"}},
			limit: 10, want: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := mergePages(tt.pages, tt.start, tt.prefix, tt.limit, noOwner)
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Fatalf("names (-want +got)\n%s", diff)
			}
			if more != tt.wantMore {
				t.Fatalf("more = %v, want %v", more, tt.wantMore)
			}
		})
	}
}

func TestMergePagesPicksCopy(t *testing.T) {
	old := api.ObjectEntry{Name: "x", Size: 1, Version: 1, Mtime: 100}
	newer := api.ObjectEntry{Name: "x", Size: 2, Version: 2, Mtime: 50}
	newest := api.ObjectEntry{Name: "x", Size: 3, Version: 2, Mtime: 60}
	tests := []struct {
		name  string
		owner string
		want  int64
	}{
		{"the highest version, then the newest, wins over the owner's", "t1", 3},
		{"the highest version, then the newest", "", 3},
		{"owner without the name does not matter", "t9", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := []targetPage{
				{Target: "t2", List: api.ObjectList{Entries: []api.ObjectEntry{newer}}},
				{Target: "t1", List: api.ObjectList{Entries: []api.ObjectEntry{old}}},
				{Target: "t3", List: api.ObjectList{Entries: []api.ObjectEntry{newest}}},
			}
			got, _ := mergePages(pages, "", "", 10, func(string) string { return tt.owner })
			if len(got) != 1 || got[0].Size != tt.want {
				t.Fatalf("got %+v, want the copy of size %d", got, tt.want)
			}
		})
	}
}

// fakeTargetList is the contract of a target's internal listing as a pure function over its
// sorted names: names after start with prefix, at most limit, next token if more remain.
func fakeTargetList(all []string, start, prefix string, limit int) api.ObjectList {
	var out api.ObjectList
	i := sort.SearchStrings(all, start)
	for ; i < len(all); i++ {
		n := all[i]
		if n <= start || !strings.HasPrefix(n, prefix) {
			continue
		}
		if len(out.Entries) == limit {
			out.NextToken = out.Entries[len(out.Entries)-1].Name
			break
		}
		out.Entries = append(out.Entries, api.ObjectEntry{Name: n})
	}
	return out
}

// TestPaginationStable pages through listings of names spread unevenly over targets, some held
// by two targets, and checks that the pages concatenate to exactly the sorted set of names:
// no duplicates, no gaps.
func TestPaginationStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 5, 16} {
		for _, limit := range []int{1, 2, 3, 7, 100} {
			for _, prefix := range []string{"", "d1/"} {
				t.Run(fmt.Sprintf("targets=%d/limit=%d/prefix=%q", k, limit, prefix), func(t *testing.T) {
					held := make([][]string, k)
					set := map[string]bool{}
					for i := range 300 {
						n := fmt.Sprintf("d%d/obj-%04d", i%3, rng.IntN(100000))
						home := rng.IntN(k)
						if k > 1 && i%4 == 0 {
							home = 0 // skew
						}
						held[home] = append(held[home], n)
						if i%5 == 0 { // in transit: a second copy elsewhere
							held[(home+1)%k] = append(held[(home+1)%k], n)
						}
						if strings.HasPrefix(n, prefix) {
							set[n] = true
						}
					}
					for i := range held {
						slices.Sort(held[i])
						held[i] = slices.Compact(held[i])
					}
					want := make([]string, 0, len(set))
					for n := range set {
						want = append(want, n)
					}
					slices.Sort(want)

					var got []string
					q := url.Values{"limit": {fmt.Sprint(limit)}, "prefix": {prefix}}
					for pageNo := 0; ; pageNo++ {
						if pageNo > len(want)+2 {
							t.Fatal("pagination does not end")
						}
						lr, err := parseListRequest(q)
						if err != nil {
							t.Fatal(err)
						}
						pages := make([]targetPage, k)
						for i := range k {
							pages[i] = targetPage{Target: fmt.Sprint(i), List: fakeTargetList(held[i], lr.Start, lr.Prefix, lr.Limit)}
						}
						es, more := mergePages(pages, lr.Start, lr.Prefix, lr.Limit, noOwner)
						if len(es) > limit {
							t.Fatalf("page of %d entries, limit %d", len(es), limit)
						}
						got = append(got, names(es)...)
						if !more || len(es) == 0 {
							break
						}
						q.Set("token", encodeToken(es[len(es)-1].Name))
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("pages do not concatenate to the listing (-want +got)\n%s", diff)
					}
				})
			}
		}
	}
}

// TestMergeTombstones: a target's tombstone hides a name whose listed copy it kills (an older
// copy on a target that was away when the object was deleted during a rebalance: chaos bug
// table row 10), but not a copy written after the delete; killed names do not count toward the
// page's limit.
func TestMergeTombstones(t *testing.T) {
	owner := func(string) string { return "t1" }
	pages := []targetPage{
		{Target: "t1", List: api.ObjectList{Entries: []api.ObjectEntry{
			{Name: "a", Epoch: 4, Version: 3, Mtime: 100}, // deleted at epoch 5: gone
			{Name: "b", Epoch: 5, Version: 1, Mtime: 300}, // written again after the delete
			{Name: "c", Epoch: 5, Version: 2, Mtime: 150}, // deleted later in the same epoch
			{Name: "d", Epoch: 3, Version: 1, Mtime: 10},
		}}},
		{Target: "t2", List: api.ObjectList{Entries: []api.ObjectEntry{{Name: "e", Epoch: 2}}},
			Tombs: []api.Tombstone{{Name: "a", Epoch: 5, Mtime: 200}, {Name: "b", Epoch: 5, Mtime: 200},
				{Name: "c", Epoch: 5, Mtime: 100}, {Name: "c", Epoch: 5, Mtime: 160}, {Name: "z", Epoch: 5}}},
	}
	got, more := mergePages(pages, "", "", 2, owner)
	if names := entryNames(got); !slices.Equal(names, []string{"b", "d"}) || !more {
		t.Fatalf("page of 2: %v more %v, want [b d] and more", names, more)
	}
	got, _ = mergePages(pages, "d", "", 10, owner)
	if names := entryNames(got); !slices.Equal(names, []string{"e"}) {
		t.Fatalf("after d: %v, want [e]", names)
	}
	// Copies of one name: the latest write epoch wins over a higher version.
	pages = []targetPage{
		{Target: "t1", List: api.ObjectList{Entries: []api.ObjectEntry{{Name: "x", Epoch: 7, Version: 1, Size: 1}}}},
		{Target: "t2", List: api.ObjectList{Entries: []api.ObjectEntry{{Name: "x", Epoch: 6, Version: 9, Size: 2}}}},
	}
	if got, _ := mergePages(pages, "", "", 10, owner); len(got) != 1 || got[0].Size != 1 {
		t.Fatalf("copies of x: %+v, want the one of epoch 7", got)
	}
}

func entryNames(es []api.ObjectEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}
