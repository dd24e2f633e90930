package target

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aisfoundry/ais/meta"
)

// Layout of a mountpath (ARCHITECTURE.md section 7):
//
//	<mountpath>/@ais/<bucket>/<object name as path>   objects, metadata in user.ais.meta
//	<mountpath>/.ais/work/                            in-flight writes (removed at start)
//	<mountpath>/.ais/trash/                           destroyed buckets, deleted in the background
//	<mountpath>/.ais/sys/                             node ID, probes
const (
	sysDir   = ".ais/sys"
	workDir  = ".ais/work"
	trashDir = ".ais/trash"
)

// longPrefix marks a file or directory name that stands for a name component longer than
// meta.MaxNameComponentLen: longPrefix + hex(SHA-256(component)). The full object name is in the
// object's metadata.
const longPrefix = "~ais-long-"

// bucketDir is the directory of a bucket on a mountpath.
func bucketDir(mp string, provider meta.Provider, bucket string) string {
	return mp + "/@" + string(provider) + "/" + bucket
}

// objectRelPath maps a valid object name to its path relative to the bucket directory, hashing
// components that are too long for a file system. hashed reports whether any was.
func objectRelPath(name string) (rel string, hashed bool) {
	if len(name) <= meta.MaxNameComponentLen || !hasLongComponent(name) {
		return name, false
	}
	comps := strings.Split(name, "/")
	for i, c := range comps {
		if len(c) > meta.MaxNameComponentLen {
			comps[i] = hashComponent(c)
		}
	}
	return strings.Join(comps, "/"), true
}

func hasLongComponent(name string) bool {
	for c := range strings.SplitSeq(name, "/") {
		if len(c) > meta.MaxNameComponentLen {
			return true
		}
	}
	return false
}

func hashComponent(c string) string {
	sum := sha256.Sum256([]byte(c))
	return longPrefix + hex.EncodeToString(sum[:])
}

// objectPath returns the file of an object on a mountpath. It validates both names again (the
// handlers already did) and checks that the result stays inside the bucket directory, so no
// caller can reach a file outside the mountpaths.
func objectPath(mp string, b *meta.Bucket, name string) (string, error) {
	if err := meta.ValidateBucketName(b.Name); err != nil {
		return "", err
	}
	if err := meta.ValidateObjectName(name); err != nil {
		return "", err
	}
	dir := bucketDir(mp, b.Provider, b.Name)
	rel, _ := objectRelPath(name)
	p := dir + "/" + rel
	if filepath.Clean(p) != p || !strings.HasPrefix(p, dir+"/") {
		return "", fmt.Errorf("%w: %q does not map to a path inside the bucket", meta.ErrInvalidObjectName, name)
	}
	return p, nil
}
