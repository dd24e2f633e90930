package cluster

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// LoopDisk is an ext4 file system in a file, on a loop device, mounted at a mountpath
// directory: a disk that a test can make fail for real. Fail shuts the file system down
// (EXT4_IOC_SHUTDOWN, what xfstests' godown uses): from then on every read, write, fsync and
// xattr call on it answers EIO, as on a dead disk, even for data in the page cache. Repair
// unmounts it, checks it and mounts it again, as an operator would after replacing a cable.
type LoopDisk struct {
	t   testing.TB
	Dir string // the mountpath
	Dev string // the loop device it is mounted from now
	img string
}

// SkipUnlessLoopDisks skips the test unless it runs as root with the tools LoopDisk needs
// (util-linux's losetup, mount, umount; e2fsprogs' mkfs.ext4, e2fsck: .ci/run installs them).
func SkipUnlessLoopDisks(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount loop devices")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "e2fsck", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: apt-get install mount e2fsprogs", tool)
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs loop devices (the kernel's loop driver): %v", err)
	}
}

// NewLoopDisk makes a file system of sizeMiB in dir+".img" and mounts it at dir. It is
// unmounted and its loop device released when the test ends.
func NewLoopDisk(t testing.TB, dir string, sizeMiB int64) *LoopDisk {
	t.Helper()
	SkipUnlessLoopDisks(t)
	img := dir + ".img"
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, sizeMiB<<20); err != nil {
		t.Fatal(err)
	}
	d := &LoopDisk{t: t, Dir: dir, img: img}
	t.Cleanup(func() { _ = os.Remove(img) })
	d.Dev = d.attach()
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	d.run("mkfs.ext4", "-q", "-F", d.Dev)
	d.run("mount", d.Dev, dir)
	return d
}

// Fail makes the disk fail: every call on its file system answers EIO from now on.
func (d *LoopDisk) Fail() {
	d.t.Helper()
	const ext4IocShutdown = 0x8004587d // _IOR('X', 125, __u32)
	f, err := os.Open(d.Dir)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetPointerInt(int(f.Fd()), ext4IocShutdown, unix.FS_SHUTDOWN_FLAGS_NOLOGFLUSH); err != nil {
		d.t.Fatalf("shut down %s: %v", d.Dir, err)
	}
}

// Repair unmounts the failed file system, checks it and mounts it again on a new loop device
// over the same image. Checking the image rather than the old device, and a new device, keep
// it working when another process's mount namespace (ip netns exec, made while the disk was
// mounted) still holds the old, shut-down file system: its device then stays "in use".
func (d *LoopDisk) Repair() {
	d.t.Helper()
	d.run("umount", d.Dir)
	// e2fsck exits 1 when it corrected something, which is expected after a shutdown.
	if out, err := exec.Command("e2fsck", "-fy", d.img).CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() > 1 {
			d.t.Fatalf("e2fsck %s: %v\n%s", d.img, err, out)
		}
	}
	_ = exec.Command("losetup", "-d", d.Dev).Run() // released once nobody holds it
	d.Dev = d.attach()
	d.run("mount", d.Dev, d.Dir)
}

// attach sets up a loop device over the image and releases it when the test ends.
func (d *LoopDisk) attach() string {
	d.t.Helper()
	dev := d.run("losetup", "--find", "--show", d.img)
	d.t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	return dev
}

func (d *LoopDisk) run(name string, args ...string) string {
	d.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
