package target

import (
	"errors"
	"os"
	"strings"
	"syscall"

	"github.com/aisfoundry/ais/meta"
)

// diskFault reports whether err says that the disk under a path failed, as opposed to the
// path's state (ENOENT, EEXIST, ENOTDIR), a full disk (ENOSPC, EDQUOT: handled as capacity,
// not as a failure) or a request's fault. It is the one place that classifies I/O errors; a
// fault only makes the mountpath suspect: a health probe decides (mountpath_health.go).
//
// EIO is what a failing device, or a file system that shut itself down after one, returns;
// EROFS a file system remounted read-only after an error; ENODEV and ENXIO a device that is
// gone; EUCLEAN (EFSCORRUPTED) a file system that found its own structures damaged. The text
// check catches the same EIO after it has crossed a layer that kept only the message.
func diskFault(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EIO, syscall.EROFS, syscall.ENODEV, syscall.ENXIO, syscall.EUCLEAN} {
		if errors.Is(err, e) {
			return true
		}
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return false
	}
	return strings.Contains(err.Error(), "input/output error")
}

// faultError is an FS error that diskFault classified. It is both meta.ErrMountpathFault (the
// wire answer: 503 MountpathFault, retriable) and the original error (errors.Is(err,
// syscall.EIO) still holds).
type faultError struct{ err error }

func (e *faultError) Error() string   { return e.err.Error() + " (disk fault)" }
func (e *faultError) Unwrap() []error { return []error{meta.ErrMountpathFault, e.err} }

// faultWatchFS passes every call to its FS and hands each error that diskFault classifies to
// report with the path, as a faultError. The store's FS is always wrapped in one, so a failing
// disk is noticed by whatever touches it first: a GET, a PUT, a job.
type faultWatchFS struct {
	FS
	report func(path string, err error)
}

func (w *faultWatchFS) check(path string, err error) error {
	if err == nil || !diskFault(err) {
		return err
	}
	var fe *faultError
	if errors.As(err, &fe) {
		return err
	}
	if w.report != nil {
		w.report(path, err)
	}
	return &faultError{err: err}
}

func (w *faultWatchFS) Create(name string) (File, error) { return w.wrap(name, w.FS.Create) }
func (w *faultWatchFS) Open(name string) (File, error)   { return w.wrap(name, w.FS.Open) }

func (w *faultWatchFS) wrap(name string, open func(string) (File, error)) (File, error) {
	f, err := open(name)
	if err != nil {
		return nil, w.check(name, err)
	}
	wf := watchedFile{File: f, fs: w, path: name}
	if _, ok := f.(osFiler); ok {
		return &watchedOSFile{wf}, nil
	}
	return &wf, nil
}

func (w *faultWatchFS) Mkdir(dir string) error    { return w.check(dir, w.FS.Mkdir(dir)) }
func (w *faultWatchFS) MkdirAll(dir string) error { return w.check(dir, w.FS.MkdirAll(dir)) }
func (w *faultWatchFS) Rename(oldname, newname string) error {
	return w.check(newname, w.FS.Rename(oldname, newname))
}
func (w *faultWatchFS) Remove(name string) error    { return w.check(name, w.FS.Remove(name)) }
func (w *faultWatchFS) RemoveAll(name string) error { return w.check(name, w.FS.RemoveAll(name)) }
func (w *faultWatchFS) SyncDir(dir string) error    { return w.check(dir, w.FS.SyncDir(dir)) }

func (w *faultWatchFS) Stat(name string) (os.FileInfo, error) {
	fi, err := w.FS.Stat(name)
	return fi, w.check(name, err)
}

func (w *faultWatchFS) ReadDir(dir string) ([]os.DirEntry, error) {
	ents, err := w.FS.ReadDir(dir)
	return ents, w.check(dir, err)
}

func (w *faultWatchFS) GetXattr(name, attr string) ([]byte, error) {
	v, err := w.FS.GetXattr(name, attr)
	return v, w.check(name, err)
}

func (w *faultWatchFS) SetXattr(name, attr string, value []byte) error {
	return w.check(name, w.FS.SetXattr(name, attr, value))
}

// watchedFile is a file of a faultWatchFS.
type watchedFile struct {
	File
	fs   *faultWatchFS
	path string
}

func (f *watchedFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	return n, f.fs.check(f.path, err)
}

func (f *watchedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	return n, f.fs.check(f.path, err)
}

func (f *watchedFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.fs.check(f.path, err)
}

func (f *watchedFile) Seek(off int64, whence int) (int64, error) {
	n, err := f.File.Seek(off, whence)
	return n, f.fs.check(f.path, err)
}

func (f *watchedFile) Stat() (os.FileInfo, error) {
	fi, err := f.File.Stat()
	return fi, f.fs.check(f.path, err)
}

func (f *watchedFile) Sync() error  { return f.fs.check(f.path, f.File.Sync()) }
func (f *watchedFile) Close() error { return f.fs.check(f.path, f.File.Close()) }

func (f *watchedFile) GetXattr(attr string) ([]byte, error) {
	v, err := f.File.GetXattr(attr)
	return v, f.fs.check(f.path, err)
}

func (f *watchedFile) SetXattr(attr string, value []byte) error {
	return f.fs.check(f.path, f.File.SetXattr(attr, value))
}

// watchedOSFile is a watchedFile that offers its *os.File for sendfile.
type watchedOSFile struct{ watchedFile }

func (f *watchedOSFile) OSFile() *os.File { return f.File.(osFiler).OSFile() }
