package target

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/aisfoundry/ais/meta"
)

// Object names form a flat namespace in which "a" and "a/b" may both exist (S3 clients make
// such pairs now and then), but on disk "a" cannot be a file and a directory at once. An
// object whose path is a directory is therefore kept inside it, under dirObjName:
//
//	<bucket>/a/b       the object "a/b"
//	<bucket>/a/\xff    the object "a"
//
// The name "\xff" is not valid UTF-8, so it is no object name's component and cannot collide.
// A PUT of "a" finds the directory and writes a/\xff; a PUT of "a/b" that finds a file "a"
// moves it to a/\xff first (under the lock of "a"; a GET of "a" that runs exactly then may
// miss it). The escaped object stays there until it is deleted. GET, DELETE and listings know
// the rule; see docs/s3.md.
const dirObjName = "\xff"

// dirObjectPath returns where the object of path lives: path itself, or path/dirObjName when
// path is a directory.
func (s *Store) dirObjectPath(path string) string {
	if fi, err := s.fs.Stat(path); err == nil && fi.IsDir() {
		return path + "/" + dirObjName
	}
	return path
}

// isDirObject reports whether a path is an escaped object's file.
func isDirObject(path string) bool { return strings.HasSuffix(path, "/"+dirObjName) }

// fileRel maps the relative path of a file in a bucket directory to the relative path of its
// object: a/\xff is the object "a".
func fileRel(rel string) string {
	if rel == dirObjName {
		return ""
	}
	return strings.TrimSuffix(rel, "/"+dirObjName)
}

// makeParentEscaping is makeParent that, when an object's file is in the way of a directory
// it needs, moves that object into a directory of its own name first (dirObjName) and tries
// again.
func (s *Store) makeParentEscaping(b *meta.Bucket, dir, root string) ([]string, error) {
	created, err := s.makeParent(dir, root)
	if err == nil || !errors.Is(err, syscall.ENOTDIR) {
		return created, err
	}
	for d := dir; len(d) > len(root); d = filepath.Dir(d) {
		fi, serr := s.fs.Stat(d)
		if serr != nil || fi.IsDir() {
			continue
		}
		if eerr := s.escapeFile(b, d); eerr != nil {
			s.log.Warn("cannot move an object out of a directory's way", "path", d, "err", eerr)
			return created, err
		}
		more, err := s.makeParent(dir, root)
		return append(created, more...), err
	}
	return created, err
}

// escapeFile moves the object file at path to path/dirObjName, under the object's lock.
func (s *Store) escapeFile(b *meta.Bucket, path string) error {
	raw, err := s.fs.GetXattr(path, xattrMeta)
	if err != nil {
		return fmt.Errorf("not an object: %w", err)
	}
	m, err := decodeObjMeta(raw)
	if err != nil || m.BucketID != b.ID {
		return fmt.Errorf("not an object of this bucket: %v", err)
	}
	mu := s.lock(b, m.Name)
	mu.Lock()
	defer mu.Unlock()
	if fi, err := s.fs.Stat(path); err != nil || fi.IsDir() {
		return err // gone, or moved by another writer meanwhile
	}
	tmp := path + ".ais-escape-" + randomHex(6)
	if err := s.fs.Rename(path, tmp); err != nil {
		return err
	}
	if err := s.fs.Mkdir(path); err != nil && !errors.Is(err, fs.ErrExist) {
		_ = s.fs.Rename(tmp, path)
		return err
	}
	if err := s.fs.Rename(tmp, path+"/"+dirObjName); err != nil {
		_ = s.fs.Remove(path)
		_ = s.fs.Rename(tmp, path)
		return err
	}
	if err := s.fs.SyncDir(filepath.Dir(path)); err != nil {
		return err
	}
	return s.fs.SyncDir(path)
}
