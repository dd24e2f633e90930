package houserules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/aisfoundry/ais"

// allowed is ARCHITECTURE.md section 3: which of our packages each package may import
// directly. A package's subpackages belong to it. Commands (cmd/*) may import any library
// package and cmd/internal but no other command; test infrastructure (tests/*) may import api, meta, codec (pure
// checksums, to check what targets store) and other test infrastructure.
var allowed = map[string][]string{
	"meta":     {},
	"codec":    {"meta"},
	"raftfsm":  {"meta"},
	"api":      {"meta"},
	"jobs":     {"meta"},
	"balancer": {"meta", "jobs"},
	"remote":   {"meta", "api"},
	"metasrv":  {"meta", "raftfsm", "api", "telemetry"},
	"target":   {"meta", "api", "codec", "jobs", "balancer", "remote", "telemetry"},
	"gateway":  {"meta", "api", "telemetry"},
	"fuse":     {"meta", "api"},
	// Not in ARCHITECTURE.md's table (see additions below): a leaf that serves /metrics and
	// pprof the same way on every daemon.
	"telemetry": {},
}

// additions are packages this repository has beyond ARCHITECTURE.md section 3, each with the
// reason; docs/design.md records them for the next revision of the design.
var additions = map[string]string{
	"telemetry": "Prometheus registry, HTTP metrics middleware and pprof shared by the three daemons",
}

type pkg struct {
	ImportPath string
	Dir        string
	Doc        string
	Name       string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func root(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// area is the top-level part of the repository a package belongs to: "meta", "cmd/ais",
// "tests/cluster", ...
func area(importPath string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
	parts := strings.Split(rel, "/")
	if (parts[0] == "cmd" || parts[0] == "tests") && len(parts) > 1 {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

func mayImport(from, to string) bool {
	if from == to {
		return true
	}
	switch {
	case strings.HasPrefix(from, "cmd/"):
		// cmd/internal holds what the mains share (flag and config-file loading, logger).
		return to == "cmd/internal" || !strings.HasPrefix(to, "cmd/") && !strings.HasPrefix(to, "tests/")
	case strings.HasPrefix(from, "tests/"):
		return to == "api" || to == "meta" || to == "codec" || strings.HasPrefix(to, "tests/")
	}
	for _, a := range allowed[from] {
		if a == to {
			return true
		}
	}
	return false
}

// TestImportDirection checks every package's transitive imports (go list -deps) against the
// table: a package may depend on an area only through a chain of allowed imports, so checking
// each direct import of every package covers the closure; -deps is used to report the chain.
func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		from := area(p.ImportPath)
		if _, ok := allowed[from]; !ok && !strings.HasPrefix(from, "cmd/") && !strings.HasPrefix(from, "tests/") {
			t.Errorf("package %s is in area %q, which ARCHITECTURE.md section 3 does not list; add it there and to the table here", p.ImportPath, from)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if to := area(imp); !mayImport(from, to) {
				t.Errorf("%s imports %s: %s may not import %s (ARCHITECTURE.md section 3)", p.ImportPath, imp, from, to)
			}
		}
	}
	// The closure, as go list -deps sees it, for the lowest layers: meta and raftfsm stay pure.
	for _, low := range []string{"meta", "raftfsm", "codec"} {
		out, err := exec.Command("go", "list", "-deps", module+"/"+low).Output()
		if err != nil {
			continue // the package does not exist yet
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module+"/") && !mayImport(low, area(dep)) {
				t.Errorf("%s depends on %s", low, dep)
			}
			if low != "codec" && (dep == "net/http" || dep == "os/exec") {
				t.Errorf("%s depends on %s: it must do no I/O", low, dep)
			}
		}
	}
}

// TestPackageDocs checks that every package with Go files has a package comment.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment (add a one-sentence doc.go)", p.ImportPath)
		}
	}
}

var envRead = regexp.MustCompile(`\bos\.(Getenv|LookupEnv|Environ)\(`)

// TestEnvOnlyInCmd checks that only commands read the environment. Tests and test
// infrastructure (tests/) are exempt: they configure the harness, not the product.
func TestEnvOnlyInCmd(t *testing.T) {
	top := root(t)
	err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, path)
		if d.IsDir() {
			if rel == "cmd" || rel == "tests" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if envRead.MatchString(sc.Text()) {
				t.Errorf("%s:%d reads the environment; only cmd/ may (pass values in Config)", rel, n)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTableMatchesArchitecture keeps the table above and ARCHITECTURE.md's list of packages in
// step (when the design file is beside the repository, as in CI).
func TestTableMatchesArchitecture(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root(t), "..", "shared", "ARCHITECTURE.md"))
	if err != nil {
		t.Skip("ARCHITECTURE.md not beside the repository")
	}
	var missing []string
	for name := range allowed {
		if _, ok := additions[name]; ok {
			continue
		}
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("packages in the table but not in ARCHITECTURE.md section 3: %v", missing)
	}
}
