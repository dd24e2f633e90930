package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// aisCLI runs the built ais binary against one gateway.
type aisCLI struct {
	t        *testing.T
	bin      string
	binDir   string
	endpoint string
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// run runs ais with args, stdin (may be nil) and the gateway in AIS_ENDPOINT, in dir (if not
// empty).
func (a *aisCLI) run(dir string, stdin io.Reader, args ...string) cliResult {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, args...)
	cmd.Env = append(os.Environ(), "AIS_ENDPOINT="+a.endpoint)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			a.t.Fatalf("ais %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return cliResult{out.String(), errb.String(), code}
}

// ok runs ais and fails the test unless it exits 0; it returns stdout.
func (a *aisCLI) ok(args ...string) string {
	a.t.Helper()
	r := a.run("", nil, args...)
	if r.code != 0 {
		a.t.Fatalf("ais %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// okJSON runs ais and decodes its stdout into v.
func (a *aisCLI) okJSON(v any, args ...string) {
	a.t.Helper()
	out := a.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("ais %s: output is not JSON for %T: %v\n%s", strings.Join(args, " "), v, err, out)
	}
}

// fails runs ais, expects a non-zero exit and exactly one line on stderr, and returns it.
func (a *aisCLI) fails(args ...string) string {
	a.t.Helper()
	r := a.run("", nil, args...)
	if r.code == 0 {
		a.t.Fatalf("ais %s: exit 0, want a failure\nstdout: %s", strings.Join(args, " "), r.stdout)
	}
	line := strings.TrimSuffix(r.stderr, "\n")
	if line == "" || strings.Contains(line, "\n") {
		a.t.Fatalf("ais %s: stderr is not one line: %q", strings.Join(args, " "), r.stderr)
	}
	return line
}

// TestCLI drives a real cluster with the ais binary: every command, --json output, a 500-file
// tree up and down, pipes, error messages, and bash completion.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1})
	ais := &aisCLI{t: t, bin: filepath.Join(c.Bin, "ais"), binDir: c.Bin, endpoint: c.GatewayURLs[0]}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work := t.TempDir()

	t.Run("show cluster", func(t *testing.T) {
		ais.t = t
		var ci api.ClusterInfo
		ais.okJSON(&ci, "show", "cluster", "--json")
		if len(ci.Meta) != 3 || ci.Epoch == 0 || ci.Leader == "" {
			t.Fatalf("cluster: %d meta members, epoch %d, leader %q", len(ci.Meta), ci.Epoch, ci.Leader)
		}
		leaders := 0
		for _, m := range ci.Meta {
			if m.Leader {
				leaders++
			}
		}
		var targets, gateways int
		for _, n := range ci.Nodes {
			switch n.Role {
			case meta.RoleTarget:
				targets++
				if n.State != meta.NodeActive || len(n.Mountpaths) != 2 {
					t.Errorf("target %s: state %s, %d mountpaths", n.ID, n.State, len(n.Mountpaths))
				}
			case meta.RoleGateway:
				gateways++
			}
		}
		if leaders != 1 || targets != 3 || gateways != 1 {
			t.Errorf("%d leaders, %d targets, %d gateways; want 1, 3, 1", leaders, targets, gateways)
		}
		out := ais.ok("show", "cluster")
		for _, re := range []string{
			fmt.Sprintf(`(?m)^epoch \d+, meta leader %s`, ci.Leader),
			fmt.Sprintf(`(?m)^%s\s+leader \*`, ci.Leader),
			`(?m)^TARGET\s+STATE\s+MOUNTPATHS\s+USED\s+TOTAL\s+USE%\s+PUBLIC$`,
			`(?m)^t0\s+active\s+2\s`,
			`(?m)^g0\s+active\s+http://`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("show cluster does not match %s:\n%s", re, out)
			}
		}
	})

	t.Run("bucket create, ls, props", func(t *testing.T) {
		ais.t = t
		if out := ais.ok("bucket", "create", "ais://cli-a"); out != "created ais://cli-a\n" {
			t.Errorf("bucket create: %q", out)
		}
		// The shortcut, with properties both as repeated flags and as trailing KEY=VALUEs.
		ais.ok("create", "ais://cli-b", "--props", "checksum.type=md5", "mirror.copies=2")
		var b meta.Bucket
		ais.okJSON(&b, "bucket", "props", "show", "ais://cli-b", "--json")
		if b.Name != "cli-b" || b.Props.Checksum.Type != "md5" || b.Props.Mirror.Copies != 2 {
			t.Errorf("cli-b created with %+v", b)
		}
		ais.ok("create", "ais://cli-c")

		var bs []meta.Bucket
		ais.okJSON(&bs, "bucket", "ls", "--json")
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
		}
		if !slices.Equal(names, []string{"cli-a", "cli-b", "cli-c"}) {
			t.Errorf("bucket ls --json: %v", names)
		}
		bs = nil
		ais.okJSON(&bs, "ls", "--json")
		if len(bs) != 3 {
			t.Errorf("ls --json: %d buckets", len(bs))
		}
		out := ais.ok("ls")
		if !regexp.MustCompile(`(?m)^NAME\s+CHECKSUM\s+VERSIONING\s+MIRROR\s+EC\s+CREATED$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^ais://cli-b\s+md5\s+on\s+2 copies\s+off\s+\d{4}-`).MatchString(out) {
			t.Errorf("ais ls:\n%s", out)
		}

		out = ais.ok("bucket", "props", "set", "ais://cli-a", "checksum.type=md5", "mirror.copies=2", "write.fsync=false")
		for _, want := range []string{"ais://cli-a: checksum.type: highway -> md5\n", "ais://cli-a: write.fsync: true -> false\n", "ais://cli-a: mirror.copies: 1 -> 2\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("props set output lacks %q:\n%s", want, out)
			}
		}
		b = meta.Bucket{}
		ais.okJSON(&b, "bucket", "props", "show", "ais://cli-a", "--json")
		if b.Props.Checksum.Type != "md5" || b.Props.Mirror.Copies != 2 || b.Props.Write.Fsync || !b.Props.Versioning {
			t.Errorf("cli-a props after set: %+v", b.Props)
		}
		out = ais.ok("bucket", "props", "show", "ais://cli-a")
		for _, re := range []string{`(?m)^PROPERTY\s+VALUE$`, `(?m)^checksum\.type\s+md5$`, `(?m)^mirror\.copies\s+2$`, `(?m)^write\.fsync\s+false$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("props show does not match %s:\n%s", re, out)
			}
		}
		// --json on set prints the bucket as changed.
		b = meta.Bucket{}
		ais.okJSON(&b, "bucket", "props", "set", "ais://cli-a", "mirror.copies=1", "--json")
		if b.Props.Mirror.Copies != 1 {
			t.Errorf("props set --json: %+v", b.Props)
		}
		if msg := ais.fails("bucket", "props", "set", "ais://cli-a", "mirror.copy=3"); msg != `ais: unknown bucket property "mirror.copy"; did you mean "mirror.copies"?` {
			t.Errorf("bad key: %s", msg)
		}
		if msg := ais.fails("bucket", "props", "set", "ais://cli-a", "mirror.copies=0"); !strings.Contains(msg, `see the properties with "ais bucket props show ais://cli-a"`) {
			t.Errorf("invalid value: %s", msg)
		}
		if msg := ais.fails("create", "ais://cli-a"); msg != `ais: bucket "ais://cli-a" already exists; list its objects with "ais ls ais://cli-a"` {
			t.Errorf("create twice: %s", msg)
		}
	})

	one := cliRandomBytes(3, 300<<10+17)
	onePath := filepath.Join(work, "one.bin")
	if err := os.WriteFile(onePath, one, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("put and get a file", func(t *testing.T) {
		ais.t = t
		if out := ais.ok("put", onePath, "ais://cli-a/dir/one.bin"); out != "put ais://cli-a/dir/one.bin (300KiB)\n" {
			t.Errorf("put: %q", out)
		}
		// A prefix ending in '/' keeps the file's name.
		ais.ok("put", onePath, "ais://cli-a/copy/")
		var op struct {
			Name          string    `json:"name"`
			Bucket        string    `json:"bucket"`
			Size          int64     `json:"size"`
			ChecksumType  string    `json:"checksum_type"`
			ChecksumValue string    `json:"checksum_value"`
			Version       uint64    `json:"version"`
			LastModified  time.Time `json:"last_modified"`
		}
		ais.okJSON(&op, "object", "show", "ais://cli-a/copy/one.bin", "--json")
		sum := md5.Sum(one)
		if op.Name != "copy/one.bin" || op.Bucket != "cli-a" || op.Size != int64(len(one)) || op.ChecksumType != "md5" ||
			op.ChecksumValue != hex.EncodeToString(sum[:]) || op.Version == 0 || op.LastModified.IsZero() {
			t.Errorf("object show --json: %+v", op)
		}
		out := ais.ok("object", "show", "ais://cli-a/dir/one.bin")
		for _, re := range []string{`(?m)^name\s+ais://cli-a/dir/one\.bin$`, fmt.Sprintf(`(?m)^size\s+300KiB \(%d bytes\)$`, len(one)),
			`(?m)^checksum\s+md5 ` + hex.EncodeToString(sum[:]) + `$`, `(?m)^version\s+\d+$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("object show does not match %s:\n%s", re, out)
			}
		}

		dst := filepath.Join(work, "got", "one.bin")
		if out := ais.ok("get", "ais://cli-a/dir/one.bin", dst); !strings.HasPrefix(out, "got ais://cli-a/dir/one.bin -> ") {
			t.Errorf("get: %q", out)
		}
		cliEqualFile(t, dst, one)
		// Without DST: the object's base name in the current directory.
		here := t.TempDir()
		if r := ais.run(here, nil, "get", "ais://cli-a/dir/one.bin"); r.code != 0 {
			t.Fatalf("get without DST: %s", r.stderr)
		}
		cliEqualFile(t, filepath.Join(here, "one.bin"), one)
		// Into a directory.
		ais.ok("get", "ais://cli-a/dir/one.bin", here+"/sub/")
		cliEqualFile(t, filepath.Join(here, "sub", "one.bin"), one)

		// Ranges.
		r := ais.run("", nil, "get", "ais://cli-a/dir/one.bin", "-", "--offset", "1000", "--length", "4KiB")
		if r.code != 0 || r.stdout != string(one[1000:1000+4096]) {
			t.Errorf("range read: exit %d, %d bytes, stderr %s", r.code, len(r.stdout), r.stderr)
		}
		r = ais.run("", nil, "get", "ais://cli-a/dir/one.bin", "-", "--offset", fmt.Sprint(len(one)-10))
		if r.code != 0 || r.stdout != string(one[len(one)-10:]) {
			t.Errorf("tail read: exit %d, %q", r.code, r.stdout)
		}
		if msg := ais.fails("get", "ais://cli-a/dir/one.bin", "-", "--offset", fmt.Sprint(len(one)+10)); !strings.Contains(msg, `the range is outside object "ais://cli-a/dir/one.bin"`) {
			t.Errorf("range past the end: %s", msg)
		}
	})

	t.Run("stdin and stdout", func(t *testing.T) {
		ais.t = t
		data := cliRandomBytes(4, 1<<20+3)
		r := ais.run("", bytes.NewReader(data), "put", "-", "ais://cli-a/piped.bin")
		if r.code != 0 || r.stdout != "put ais://cli-a/piped.bin (1.0MiB)\n" {
			t.Fatalf("put -: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		r = ais.run("", nil, "get", "ais://cli-a/piped.bin", "-")
		if r.code != 0 || r.stdout != string(data) || r.stderr != "" {
			t.Errorf("get -: exit %d, %d bytes (want %d), stderr %q", r.code, len(r.stdout), len(data), r.stderr)
		}
		r = ais.run("", nil, "object", "cat", "ais://cli-a/piped.bin", "ais://cli-a/dir/one.bin")
		if r.code != 0 || r.stdout != string(data)+string(one) {
			t.Errorf("object cat: exit %d, %d bytes, %s", r.code, len(r.stdout), r.stderr)
		}
		// A pipe between two ais processes, as a shell does it.
		get := exec.Command(ais.bin, "get", "ais://cli-a/piped.bin", "-")
		put := exec.Command(ais.bin, "put", "-", "ais://cli-b/piped-copy.bin")
		var getErr, putErr bytes.Buffer
		get.Stderr, put.Stderr = &getErr, &putErr
		for _, cmd := range []*exec.Cmd{get, put} {
			cmd.Env = append(os.Environ(), "AIS_ENDPOINT="+ais.endpoint)
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		get.Stdout, put.Stdin = pw, pr
		if err := put.Start(); err != nil {
			t.Fatal(err)
		}
		if err := get.Start(); err != nil {
			t.Fatal(err)
		}
		pr.Close()
		pw.Close()
		if err := get.Wait(); err != nil {
			t.Errorf("ais get | : %v: %s", err, getErr.String())
		}
		if err := put.Wait(); err != nil {
			t.Fatalf("| ais put: %v: %s", err, putErr.String())
		}
		r = ais.run("", nil, "object", "cat", "ais://cli-b/piped-copy.bin")
		if r.stdout != string(data) {
			t.Errorf("piped copy differs: %d bytes", len(r.stdout))
		}
	})

	tree := filepath.Join(work, "tree")
	t.Run("recursive put and get of 500 files", func(t *testing.T) {
		ais.t = t
		rng := rand.New(rand.NewPCG(5, 6))
		var total int64
		for i := 0; i < 500; i++ {
			rel := fmt.Sprintf("d%d/e%d/file-%03d.bin", i%5, i%3, i)
			if i%50 == 0 {
				rel = fmt.Sprintf("top-%03d.bin", i) // some at the top
			}
			size := rng.IntN(64 << 10)
			switch i {
			case 1:
				size = 0
			case 2:
				size = 3 << 20
			}
			p := filepath.Join(tree, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, cliRandomBytes(uint64(100+i), size), 0o644); err != nil {
				t.Fatal(err)
			}
			total += int64(size)
		}
		out := ais.ok("put", tree, "ais://cli-b/tree/", "--recursive", "--workers", "16")
		if !strings.HasPrefix(out, "put 500 files ("+cliHuman(total)) {
			t.Errorf("recursive put: %q", out)
		}
		if msg := ais.fails("put", tree, "ais://cli-b/x/"); !strings.Contains(msg, "is a directory; add --recursive") {
			t.Errorf("put of a directory without --recursive: %s", msg)
		}

		var entries []struct {
			Name     string `json:"name"`
			Size     *int64 `json:"size"`
			Checksum string `json:"checksum"`
		}
		ais.okJSON(&entries, "ls", "ais://cli-b", "--prefix", "tree/", "--props", "name,size,checksum", "--json")
		if len(entries) != 500 {
			t.Fatalf("ls --json: %d entries, want 500", len(entries))
		}
		if !sort.SliceIsSorted(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name }) {
			t.Errorf("listing is not sorted")
		}
		for _, e := range entries {
			fi, err := os.Stat(filepath.Join(tree, strings.TrimPrefix(e.Name, "tree/")))
			if err != nil || e.Size == nil || *e.Size != fi.Size() || !strings.HasPrefix(e.Checksum, "md5:") {
				t.Fatalf("entry %+v: local %v, %v", e, fi, err)
			}
		}
		// The same through ais://BUCKET/PREFIX, limited.
		entries = nil
		ais.okJSON(&entries, "ls", "ais://cli-b/tree/d1/", "--limit", "7", "--json")
		if len(entries) != 7 || !strings.HasPrefix(entries[0].Name, "tree/d1/") || entries[0].Checksum != "" {
			t.Errorf("ls with prefix and limit: %+v", entries)
		}
		out = ais.ok("ls", "ais://cli-b", "--prefix", "tree/top-", "--props", "all")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 11 || !regexp.MustCompile(`^NAME\s+SIZE\s+CHECKSUM\s+VERSION\s+MTIME$`).MatchString(lines[0]) ||
			!regexp.MustCompile(`^tree/top-000\.bin\s+\S+B\s+md5:[0-9a-f]{32}\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(lines[1]) {
			t.Errorf("ls --props all:\n%s", out)
		}

		down := filepath.Join(work, "down")
		out = ais.ok("get", "ais://cli-b", "--prefix", "tree/", down+"/", "--workers", "16")
		if !strings.HasPrefix(out, "got 500 objects") {
			t.Errorf("get many: %q", out)
		}
		cliCompareTrees(t, tree, filepath.Join(down, "tree"))
		// ais://BUCKET/PREFIX/ as the source does the same.
		down2 := filepath.Join(work, "down2")
		ais.ok("get", "ais://cli-b/tree/d2/", down2)
		n := 0
		_ = filepath.WalkDir(down2, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return err
		})
		if n != 100 { // i%5 == 2; none of them is a top-level file (i%50 == 0)
			t.Errorf("get ais://cli-b/tree/d2/: %d files", n)
		}
	})

	t.Run("listing pages through a big bucket", func(t *testing.T) {
		ais.t = t
		cl, err := api.NewClient(c.GatewayURLs[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		const n = 2345 // more than two pages of api.DefaultListLimit
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(32)
		for i := 0; i < n; i++ {
			g.Go(func() error {
				_, err := cl.PutObject(gctx, "cli-c", fmt.Sprintf("o-%05d", i), bytes.NewReader(nil), 0, nil)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		var entries []map[string]any
		ais.okJSON(&entries, "ls", "ais://cli-c", "--json")
		if len(entries) != n || entries[0]["name"] != "o-00000" || entries[n-1]["name"] != fmt.Sprintf("o-%05d", n-1) {
			t.Errorf("ls of %d objects: %d entries", n, len(entries))
		}
		entries = nil
		ais.okJSON(&entries, "ls", "ais://cli-c", "--limit", "1500", "--json")
		if len(entries) != 1500 || entries[1499]["name"] != "o-01499" {
			t.Errorf("ls --limit 1500: %d entries", len(entries))
		}
	})

	t.Run("get checks the checksum", func(t *testing.T) {
		ais.t = t
		data := cliRandomBytes(9, 64<<10)
		src := filepath.Join(work, "victim.bin")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ais.ok("put", src, "ais://cli-c/victim.bin")
		// Damage the stored file in place: same size, one byte flipped, metadata untouched.
		var found []string
		for _, mps := range c.TargetMountpaths {
			for _, mp := range mps {
				p := filepath.Join(mp, "@ais", "cli-c", "victim.bin")
				if _, err := os.Stat(p); err == nil {
					found = append(found, p)
				}
			}
		}
		if len(found) != 1 {
			t.Fatalf("victim.bin stored %d times: %v", len(found), found)
		}
		f, err := os.OpenFile(found[0], os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{data[1000] ^ 0xff}, 1000); err != nil {
			t.Fatal(err)
		}
		f.Close()
		dst := filepath.Join(work, "victim.out")
		msg := ais.fails("get", "ais://cli-c/victim.bin", dst)
		if !strings.Contains(msg, "checksum") && !strings.Contains(msg, "damaged") {
			t.Errorf("get of a damaged object: %s", msg)
		}
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Errorf("a corrupt download left %s: %v", dst, err)
		}
		if r := ais.run("", nil, "object", "cat", "ais://cli-c/victim.bin"); r.code == 0 {
			t.Errorf("object cat of a damaged object exited 0")
		}
	})

	t.Run("object rm", func(t *testing.T) {
		ais.t = t
		out := ais.ok("object", "rm", "ais://cli-a/copy/one.bin")
		if out != "removed ais://cli-a/copy/one.bin\n" {
			t.Errorf("object rm: %q", out)
		}
		ais.ok("rmo", "ais://cli-a/piped.bin", "ais://cli-b/piped-copy.bin")
		if msg := ais.fails("object", "show", "ais://cli-a/piped.bin"); msg != `ais: object "ais://cli-a/piped.bin" does not exist; list objects with "ais ls ais://cli-a"` {
			t.Errorf("show of a removed object: %s", msg)
		}
	})

	t.Run("errors", func(t *testing.T) {
		ais.t = t
		const noBucket = `ais: bucket "ais://no-such-bucket" does not exist; list buckets with "ais ls"`
		for _, args := range [][]string{
			{"ls", "ais://no-such-bucket"},
			{"bucket", "props", "show", "ais://no-such-bucket"},
			{"put", onePath, "ais://no-such-bucket/x"},
			{"get", "ais://no-such-bucket/x", "-"},
			{"rmb", "ais://no-such-bucket"},
		} {
			if msg := ais.fails(args...); msg != noBucket {
				t.Errorf("ais %s: %s", strings.Join(args, " "), msg)
			}
		}
		const noObject = `ais: object "ais://cli-a/no/such/object" does not exist; list objects with "ais ls ais://cli-a"`
		for _, args := range [][]string{
			{"get", "ais://cli-a/no/such/object", filepath.Join(work, "nothing")},
			{"object", "cat", "ais://cli-a/no/such/object"},
			{"object", "show", "ais://cli-a/no/such/object"},
			{"rmo", "ais://cli-a/no/such/object"},
		} {
			if msg := ais.fails(args...); msg != noObject {
				t.Errorf("ais %s: %s", strings.Join(args, " "), msg)
			}
		}
		if _, err := os.Stat(filepath.Join(work, "nothing")); !os.IsNotExist(err) {
			t.Errorf("a failed get left a file: %v", err)
		}

		dead := fmt.Sprintf("http://127.0.0.1:%d", cluster.FreePorts(t, 1)[0])
		want := fmt.Sprintf("ais: cannot reach the gateway at %s (connection refused); start the cluster, or point ais at a gateway with --endpoint URL or AIS_ENDPOINT", dead)
		start := time.Now()
		if msg := ais.fails("--endpoint", dead, "ls"); msg != want {
			t.Errorf("unreachable --endpoint: %s", msg)
		}
		saved := ais.endpoint
		ais.endpoint = dead
		if msg := ais.fails("put", onePath, "ais://cli-a/x"); msg != want {
			t.Errorf("unreachable AIS_ENDPOINT: %s", msg)
		}
		ais.endpoint = saved
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("unreachable endpoints took %v to report", el)
		}

		if msg := ais.fails("ls", "s3://bucket"); !strings.Contains(msg, "s3:// buckets are not supported yet") {
			t.Errorf("s3: %s", msg)
		}
		r := ais.run("", nil, "bucket", "frobnicate")
		if r.code != 2 || !strings.Contains(r.stderr, `see "ais bucket --help"`) {
			t.Errorf("unknown command: exit %d, %q", r.code, r.stderr)
		}
	})

	t.Run("cluster node", func(t *testing.T) {
		ais.t = t
		r := ais.run("", nil, "cluster", "node", "maintenance", "t2")
		if r.code != 0 && strings.Contains(r.stderr, "does not know this request") {
			t.Skipf("the gateway has no node-state route yet: %s", r.stderr)
		}
		if r.code != 0 || r.stdout != "node t2: maintenance\n" {
			t.Fatalf("maintenance: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		cliWaitNodeState(t, ais, "t2", meta.NodeMaintenance)
		if out := ais.ok("cluster", "node", "activate", "t2"); out != "node t2: active\n" {
			t.Errorf("activate: %q", out)
		}
		cliWaitNodeState(t, ais, "t2", meta.NodeActive)
		if msg := ais.fails("cluster", "node", "decommission", "no-such-node"); msg != `ais: node "no-such-node" does not exist; list nodes with "ais show cluster"` {
			t.Errorf("decommission of a missing node: %s", msg)
		}
	})

	t.Run("bash completion", func(t *testing.T) {
		ais.t = t
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Skip("no bash")
		}
		script := filepath.Join(work, "ais.bash")
		if err := os.WriteFile(script, []byte(ais.ok("completion", "bash")), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := ais.ok("completion", "zsh"); !strings.Contains(out, "compdef _ais ais") {
			t.Errorf("zsh script:\n%s", out)
		}
		// complete runs the completion function on words split as bash splits them
		// (COMP_WORDBREAKS holds ':' and '='), and returns COMPREPLY.
		complete := func(cword int, words ...string) []string {
			t.Helper()
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = "'" + w + "'"
			}
			prog := fmt.Sprintf(`source %q
complete -p ais >/dev/null || exit 3
COMP_WORDS=(%s); COMP_CWORD=%d
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
_ais_complete
printf '%%s\n' "${COMPREPLY[@]}"`, script, strings.Join(quoted, " "), cword)
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
			cmd.Env = append(os.Environ(), "AIS_ENDPOINT="+ais.endpoint, "PATH="+ais.binDir+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			s := strings.TrimSpace(string(out))
			if s == "" {
				return nil
			}
			return strings.Split(s, "\n")
		}
		check := func(got []string, want ...string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("COMPREPLY = %q, want %q", got, want)
			}
		}
		check(complete(1, "ais", "bu"), "bucket")
		check(complete(2, "ais", "bucket", "pr"), "props")
		check(complete(2, "ais", "ls", "--li"), "--limit")
		// Bucket names from the cluster: "ais rmb ais://cli-" arrives as ais, :, //cli-.
		check(complete(4, "ais", "rmb", "ais", ":", "//cli-"), "//cli-a", "//cli-b", "//cli-c")
		check(complete(2, "ais", "rmb", "cli-b"), "ais://cli-b")
		// Object names, a directory level at a time.
		check(complete(4, "ais", "get", "ais", ":", "//cli-b/tree/d"), "//cli-b/tree/d0/", "//cli-b/tree/d1/", "//cli-b/tree/d2/", "//cli-b/tree/d3/", "//cli-b/tree/d4/")
		check(complete(5, "ais", "object", "show", "ais", ":", "//cli-a/dir/"), "//cli-a/dir/one.bin")
		// Cursor right after the colon: bash's word is ":".
		got := complete(3, "ais", "rmb", "ais", ":")
		check(got, "://cli-a", "://cli-b", "://cli-c")
		// Node IDs and property keys.
		check(complete(4, "ais", "cluster", "node", "maintenance", "t"), "t0", "t1", "t2")
		check(complete(9, "ais", "bucket", "props", "set", "ais", ":", "//cli-a", "checksum.type", "=", "m"), "md5")
	})

	t.Run("zsh completion", func(t *testing.T) {
		ais.t = t
		zsh, err := exec.LookPath("zsh")
		if err != nil {
			t.Skip("no zsh")
		}
		script := filepath.Join(work, "ais.zsh")
		if err := os.WriteFile(script, []byte(ais.ok("completion", "zsh")), 0o644); err != nil {
			t.Fatal(err)
		}
		// compadd exists only inside a completion widget: a function of that name stands in
		// for it and prints the candidates it is given.
		prog := fmt.Sprintf(`compadd() { local a; for a in "$@"; do print -r -- "$a"; done }
source %q
words=(ais rmb ais://cli-); CURRENT=3; _ais`, script)
		cmd := exec.Command(zsh, "-f", "-c", prog)
		cmd.Env = append(os.Environ(), "AIS_ENDPOINT="+ais.endpoint, "PATH="+ais.binDir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
		if got, want := string(out), "-Q\n-U\n--\nais://cli-a\nais://cli-b\nais://cli-c\n"; got != want {
			t.Errorf("zsh compadd got:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("bucket rm", func(t *testing.T) {
		ais.t = t
		if out := ais.ok("bucket", "rm", "ais://cli-a"); out != "removed ais://cli-a\n" {
			t.Errorf("bucket rm: %q", out)
		}
		ais.ok("rmb", "ais://cli-b", "ais://cli-c")
		if msg := ais.fails("ls", "ais://cli-a"); msg != `ais: bucket "ais://cli-a" does not exist; list buckets with "ais ls"` {
			t.Errorf("ls of a removed bucket: %s", msg)
		}
		var bs []meta.Bucket
		ais.okJSON(&bs, "ls", "--json")
		if len(bs) != 0 {
			t.Errorf("buckets left: %v", bs)
		}
		if out := ais.ok("ls"); !strings.HasPrefix(out, "no buckets") {
			t.Errorf("ls without buckets: %q", out)
		}
	})
}

func cliWaitNodeState(t *testing.T, ais *aisCLI, id string, want meta.NodeState) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ci api.ClusterInfo
		ais.okJSON(&ci, "show", "cluster", "--json")
		for _, n := range ci.Nodes {
			if n.ID == id && n.State == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not reach state %s: %+v", id, want, ci.Nodes)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func cliRandomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func cliEqualFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d expected", path, len(got), len(want))
	}
}

// cliCompareTrees checks that two directory trees hold the same files, byte for byte, and
// nothing else.
func cliCompareTrees(t *testing.T, want, got string) {
	t.Helper()
	list := func(root string) map[string]bool {
		m := map[string]bool{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				m[rel] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := list(want), list(got)
	if len(a) != len(b) {
		t.Fatalf("%s has %d files, %s has %d", want, len(a), got, len(b))
	}
	for rel := range a {
		if !b[rel] {
			t.Fatalf("%s missing from %s", rel, got)
		}
		x, err := os.ReadFile(filepath.Join(want, rel))
		if err != nil {
			t.Fatal(err)
		}
		cliEqualFile(t, filepath.Join(got, rel), x)
	}
}

// cliHuman formats a size as ais does, for checking summary lines.
func cliHuman(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 100 {
		return fmt.Sprintf("%.1f%s", v, units[i])
	}
	return fmt.Sprintf("%.0f%s", v, units[i])
}
