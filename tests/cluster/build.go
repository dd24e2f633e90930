package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	dir  string
	err  error
}

// Binaries builds every command under cmd/ once per test process (into a temporary directory
// that outlives the test) and returns the directory. AIS_BIN_DIR, set by the Makefile after
// `make build`, skips the build.
func Binaries(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if dir := os.Getenv("AIS_BIN_DIR"); dir != "" {
			build.dir = dir
			return
		}
		root, err := repoRoot()
		if err != nil {
			build.err = err
			return
		}
		dir, err := os.MkdirTemp("", "ais-bin-")
		if err != nil {
			build.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/...: %v\n%s", err, out)
			return
		}
		build.dir = dir
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.dir
}

// repoRoot is the directory holding go.mod, found from this source file.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cluster: cannot locate source")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("cluster: go.mod not found above %s", file)
		}
		dir = parent
	}
}
