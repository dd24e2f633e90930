package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Binaries are the daemons a cluster runs.
var Binaries = []string{"ais-meta", "ais-target", "ais-gw"}

// Build compiles the daemons of the repository at root into out.
func Build(root, out string) error {
	args := []string{"build", "-o", out + string(filepath.Separator)}
	for _, b := range Binaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if raw, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, raw)
	}
	return nil
}

// HasBinaries reports whether dir holds every daemon.
func HasBinaries(dir string) bool {
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}
