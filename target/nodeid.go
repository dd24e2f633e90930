package target

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/aisfoundry/ais/meta"
)

// nodeIDFile keeps a target's ID on each of its mountpaths, so a restart (or a move of the
// disks) keeps the identity and with it the objects' placement.
const nodeIDFile = sysDir + "/node-id"

// resolveNodeID returns the target's ID: want if set, else the ID kept on the mountpaths, else
// a new one. It keeps the result on every mountpath. Mountpaths that name different IDs, or an
// ID other than want, are an error: they belong to another target.
func resolveNodeID(fsys FS, mps []string, want string) (string, error) {
	found, foundOn := "", ""
	for _, mp := range mps {
		id, err := readSmallFile(fsys, mp+"/"+nodeIDFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("target: read node ID on %s: %w", mp, err)
		}
		id = strings.TrimSpace(id)
		if err := meta.ValidateNodeID(id); err != nil {
			return "", fmt.Errorf("target: node ID file on %s: %w", mp, err)
		}
		if found != "" && id != found {
			return "", fmt.Errorf("target: mountpaths %s and %s belong to different targets (%s, %s)", foundOn, mp, found, id)
		}
		found, foundOn = id, mp
	}
	id := found
	switch {
	case want != "" && found != "" && want != found:
		return "", fmt.Errorf("target: mountpath %s belongs to target %s, not %s", foundOn, found, want)
	case want != "":
		id = want
	case id == "":
		id = "t-" + randomHex(4)
	}
	for _, mp := range mps {
		if err := fsys.MkdirAll(mp + "/" + sysDir); err != nil {
			return "", fmt.Errorf("target: keep node ID on %s: %w", mp, err)
		}
		if err := writeFileAtomic(fsys, mp+"/"+nodeIDFile, []byte(id+"\n")); err != nil {
			return "", fmt.Errorf("target: keep node ID on %s: %w", mp, err)
		}
	}
	return id, nil
}

func readSmallFile(fsys FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	return string(b), err
}

// writeSynced creates (or truncates) name, writes data and fsyncs it.
func writeSynced(fsys FS, name string, data []byte) error {
	f, err := fsys.Create(name)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic replaces name with data durably: temporary file, fsync, rename, fsync dir.
func writeFileAtomic(fsys FS, name string, data []byte) error {
	tmp := name + ".tmp"
	_ = fsys.Remove(tmp)
	err := writeSynced(fsys, tmp, data)
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return err
	}
	return fsys.SyncDir(name[:strings.LastIndexByte(name, '/')])
}
