package target

import (
	"io"
	"os"
)

// FS is the target's view of its disks. Everything the store does to a mountpath goes through
// it, so that a fault-injecting implementation (EIO, ENOSPC, torn writes, lost unsynced data)
// can stand in for the operating system in tests. Paths are absolute.
//
// It is larger than most of our interfaces because a file system is: it mirrors the subset of
// os and xattr calls the write protocol needs, as pebble's vfs.FS does.
type FS interface {
	// Create makes a new file for writing; it fails if name exists.
	Create(name string) (File, error)
	// Open opens an existing regular file for reading without following a final symlink.
	Open(name string) (File, error)
	// Mkdir makes one directory; its parent must exist.
	Mkdir(dir string) error
	MkdirAll(dir string) error
	Rename(oldname, newname string) error
	Remove(name string) error
	RemoveAll(name string) error
	// Stat describes name itself, not what a symlink points to.
	Stat(name string) (os.FileInfo, error)
	ReadDir(dir string) ([]os.DirEntry, error)
	// SyncDir makes the directory's entries (creations, renames, removals) durable.
	SyncDir(dir string) error
	// GetXattr returns an extended attribute of a path (a file or a directory, not followed
	// if it is a symlink); a missing attribute is errNoXattr.
	GetXattr(name, attr string) ([]byte, error)
	SetXattr(name, attr string, value []byte) error
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Seeker
	io.Closer
	Name() string
	Stat() (os.FileInfo, error)
	Sync() error
	// GetXattr and SetXattr work on the open file, so the metadata read belongs to the very
	// bytes being read even if the name is replaced meanwhile.
	GetXattr(attr string) ([]byte, error)
	SetXattr(attr string, value []byte) error
}

// osFiler is implemented by files backed by an *os.File, which the GET path hands to the HTTP
// server so the kernel can send it without copying (sendfile).
type osFiler interface {
	OSFile() *os.File
}
