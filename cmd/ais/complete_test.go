package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fakeCandidates struct {
	buckets []string
	objects map[string][]string
	nodes   []string
}

func (f *fakeCandidates) Buckets(context.Context) ([]string, error) { return f.buckets, nil }
func (f *fakeCandidates) Nodes(context.Context) ([]string, error)   { return f.nodes, nil }
func (f *fakeCandidates) Objects(_ context.Context, bucket, prefix string) ([]string, error) {
	var out []string
	for _, o := range f.objects[bucket] {
		if strings.HasPrefix(o, prefix) {
			out = append(out, o)
		}
	}
	return out, nil
}

func TestJoinBashWords(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		cword int
		want  []string
		cur   int
		trim  int
	}{
		{"plain", []string{"ais", "bu"}, 1, []string{"ais", "bu"}, 1, 0},
		{"after a space", []string{"ais", "ls", ""}, 2, []string{"ais", "ls", ""}, 2, 0},
		{"scheme split", []string{"ais", "ls", "ais", ":", "//b"}, 4, []string{"ais", "ls", "ais://b"}, 2, 4},
		{"cursor on the colon", []string{"ais", "ls", "ais", ":"}, 3, []string{"ais", "ls", "ais:"}, 2, 3},
		{"cursor before the colon word", []string{"ais", "ls", "ais", ":", "//b", "x"}, 5, []string{"ais", "ls", "ais://b", "x"}, 3, 0},
		{"flag value with =", []string{"ais", "ls", "--props", "=", "name,s"}, 4, []string{"ais", "ls", "--props=name,s"}, 2, 8},
		{"key=value", []string{"ais", "bucket", "props", "set", "ais", ":", "//b", "checksum.type", "=", "m"}, 9,
			[]string{"ais", "bucket", "props", "set", "ais://b", "checksum.type=m"}, 5, 14},
		{"cursor past the words", []string{"ais"}, 1, []string{"ais", ""}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cur, trim := joinBashWords(tt.words, tt.cword)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("words (-want +got):\n%s", diff)
			}
			if cur != tt.cur || trim != tt.trim {
				t.Errorf("cur, trim = %d, %d; want %d, %d", cur, trim, tt.cur, tt.trim)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"data/x.bin", "data/y.bin", "notes.txt", ".hidden"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)

	var cli CLI
	parser, err := newParser(&cli, &console{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	c := &completer{app: parser.Model.Node, live: &fakeCandidates{
		buckets: []string{"alpha", "beta"},
		objects: map[string][]string{"alpha": {"dir/a", "dir/sub/b", "dir/sub/c", "file1", "file2"}},
		nodes:   []string{"g0", "t0", "t1"},
	}}
	tests := []struct {
		line string // the words; a trailing space means the cursor is on a new, empty word
		want []string
	}{
		{"ais bu", []string{"bucket"}},
		{"ais ", []string{"auth", "bucket", "cluster", "completion", "create", "get", "job", "ls", "object", "put", "rmb", "rmo", "show", "storage"}},
		{"ais __", nil},
		{"ais bucket ", []string{"create", "ls", "props", "rm"}},
		{"ais show ", []string{"cluster", "performance", "rebalance", "storage"}},
		{"ais job ", []string{"ls", "show", "start", "stop", "wait"}},
		{"ais storage mountpath ", []string{"attach", "detach", "disable", "enable"}},
		{"ais rmb a", []string{"ais://alpha", "ais://beta"}},
		{"ais rmb al", []string{"ais://alpha"}},
		{"ais rmb ais://alpha ", []string{"ais://alpha", "ais://beta"}},
		{"ais bucket props show ais://b", []string{"ais://beta"}},
		{"ais bucket props show ais://alpha ", nil},
		{"ais ls ", []string{"ais://alpha/", "ais://beta/"}},
		{"ais ls ais://alpha/", []string{"ais://alpha/dir/", "ais://alpha/file1", "ais://alpha/file2"}},
		{"ais ls ais://alpha/dir/", []string{"ais://alpha/dir/a", "ais://alpha/dir/sub/"}},
		{"ais ls ais://alpha/dir/sub/", []string{"ais://alpha/dir/sub/b", "ais://alpha/dir/sub/c"}},
		{"ais object show ais://alpha/fi", []string{"ais://alpha/file1", "ais://alpha/file2"}},
		{"ais -e http://127.0.0.1:1 ls ", []string{"ais://alpha/", "ais://beta/"}},
		{"ais ls --pr", []string{"--prefix", "--props", "--proxy"}},
		{"ais ls --props name,s", []string{"name,size"}},
		{"ais ls --props=name,size,", []string{"--props=name,size,all", "--props=name,size,checksum", "--props=name,size,mtime", "--props=name,size,version"}},
		{"ais completion ", []string{"bash", "zsh"}},
		{"ais completion bash ", nil},
		{"ais cluster node maintenance ", []string{"g0", "t0", "t1"}},
		{"ais cluster node activate t", []string{"t0", "t1"}},
		{"ais bucket props set ais://alpha check", []string{"checksum.type=", "checksum.validate_read="}},
		{"ais bucket props set ais://alpha mirror.copies=2 write.", []string{"write.fsync="}},
		{"ais bucket props set ais://alpha checksum.type=", []string{"checksum.type=crc32c", "checksum.type=highway", "checksum.type=md5", "checksum.type=none", "checksum.type=sha256"}},
		{"ais bucket props set ais://alpha write.fsync=f", []string{"write.fsync=false"}},
		{"ais put ", []string{"data/", "notes.txt"}},
		{"ais put .", []string{".hidden"}},
		{"ais put data/", []string{"data/x.bin", "data/y.bin"}},
		{"ais put notes.txt ais://b", []string{"ais://beta/"}},
		{"ais put -r data ais://alpha/d", []string{"ais://alpha/dir/"}},
		{"ais get ais://alpha/file1 n", []string{"notes.txt"}},
		{"ais get --workers 4 ais://alpha/f", []string{"ais://alpha/file1", "ais://alpha/file2"}},
		{"ais get ais://alpha/file1 notes.txt ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			words := strings.Split(tt.line, " ")
			got := c.complete(context.Background(), words, len(words)-1)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("complete(%q) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// TestCompleteCommand runs the hidden command as the bash script does, with bash's split
// words, and checks that candidates are cut to bash's current word.
func TestCompleteCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "--cword", "1", "--", "ais", "bu"}, "bucket\n"},
		{[]string{"__complete", "--cword", "4", "--", "ais", "bucket", "props", "set", "ais", ":", "//abc", "mirror.co"}, ""},
		{[]string{"__complete", "--cword", "7", "--", "ais", "bucket", "props", "set", "ais", ":", "//abc", "mirror.co"}, "mirror.copies=\n"},
		{[]string{"__complete", "--cword", "9", "--", "ais", "bucket", "props", "set", "ais", ":", "//abc", "write.fsync", "=", "t"}, "true\n"},
		{[]string{"__complete", "--shell", "zsh", "--cword", "2", "--", "ais", "ls", "--js"}, "--json\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			// An endpoint nobody listens on: live candidates come back empty, at once.
			args := append([]string{"-e", "http://127.0.0.1:1"}, tt.args...)
			if code := run(context.Background(), args, &console{Out: &out, Err: &errb}); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if out.String() != tt.want {
				t.Errorf("output %q, want %q", out.String(), tt.want)
			}
		})
	}
}
