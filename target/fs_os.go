package target

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errNoXattr is returned by GetXattr when the attribute does not exist.
var errNoXattr = errors.New("extended attribute not set")

// OSFS is the FS of the operating system.
type OSFS struct{}

var _ FS = OSFS{}

func (OSFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OSFS) Open(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OSFS) Mkdir(dir string) error                    { return os.Mkdir(dir, 0o755) }
func (OSFS) MkdirAll(dir string) error                 { return os.MkdirAll(dir, 0o755) }
func (OSFS) Rename(oldname, newname string) error      { return os.Rename(oldname, newname) }
func (OSFS) Remove(name string) error                  { return os.Remove(name) }
func (OSFS) RemoveAll(name string) error               { return os.RemoveAll(name) }
func (OSFS) Stat(name string) (os.FileInfo, error)     { return os.Lstat(name) }
func (OSFS) ReadDir(dir string) ([]os.DirEntry, error) { return os.ReadDir(dir) }

func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (OSFS) GetXattr(name, attr string) ([]byte, error) {
	return getxattr(func(buf []byte) (int, error) { return unix.Lgetxattr(name, attr, buf) })
}

func (OSFS) SetXattr(name, attr string, value []byte) error {
	if err := unix.Lsetxattr(name, attr, value, 0); err != nil {
		return &os.PathError{Op: "setxattr", Path: name, Err: err}
	}
	return nil
}

type osFile struct{ *os.File }

func (f osFile) OSFile() *os.File { return f.File }

func (f osFile) GetXattr(attr string) ([]byte, error) {
	return getxattr(func(buf []byte) (int, error) { return unix.Fgetxattr(int(f.Fd()), attr, buf) })
}

func (f osFile) SetXattr(attr string, value []byte) error {
	if err := unix.Fsetxattr(int(f.Fd()), attr, value, 0); err != nil {
		return &os.PathError{Op: "setxattr", Path: f.Name(), Err: err}
	}
	return nil
}

// getxattr calls get with a buffer that grows until the value fits.
func getxattr(get func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, 1024)
	for {
		n, err := get(buf)
		switch {
		case err == nil:
			return buf[:n], nil
		case errors.Is(err, unix.ENODATA):
			return nil, errNoXattr
		case errors.Is(err, unix.ERANGE) && len(buf) < 64<<10:
			buf = make([]byte, 4*len(buf))
		default:
			return nil, fmt.Errorf("getxattr: %w", err)
		}
	}
}

// diskUsage returns the size and the used bytes of the file system holding dir.
func diskUsage(dir string) (total, used uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Blocks * bs, (st.Blocks - st.Bfree) * bs, nil
}
