package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

func TestDiskFaultClassification(t *testing.T) {
	pathErr := func(op string, errno syscall.Errno) error { return &os.PathError{Op: op, Path: "/mp/x", Err: errno} }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"EIO read", pathErr("read", syscall.EIO), true},
		{"EIO fsync wrapped", fmt.Errorf("target: sync: %w", pathErr("sync", syscall.EIO)), true},
		{"EIO rename", &os.LinkError{Op: "rename", Old: "/a", New: "/b", Err: syscall.EIO}, true},
		{"EIO getxattr", fmt.Errorf("getxattr: %w", unix.EIO), true},
		{"EROFS", pathErr("open", syscall.EROFS), true},
		{"ENODEV", pathErr("open", syscall.ENODEV), true},
		{"ENXIO", pathErr("write", syscall.ENXIO), true},
		{"EUCLEAN", pathErr("open", syscall.EUCLEAN), true},
		{"EIO as text only", errors.New("read /mp/x: input/output error"), true},
		{"ENOSPC", pathErr("write", syscall.ENOSPC), false},
		{"EDQUOT", pathErr("write", syscall.EDQUOT), false},
		{"ENOENT", pathErr("open", syscall.ENOENT), false},
		{"not exist", fs.ErrNotExist, false},
		{"EEXIST", pathErr("open", syscall.EEXIST), false},
		{"ENOTDIR", pathErr("open", syscall.ENOTDIR), false},
		{"EACCES", pathErr("open", syscall.EACCES), false},
		{"EOF", io.EOF, false},
		{"short body", io.ErrUnexpectedEOF, false},
		{"bad request", meta.ErrInvalidObjectName, false},
		{"bad digest", meta.ErrBadDigest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diskFault(tc.err); got != tc.want {
				t.Fatalf("diskFault(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}

	fe := error(&faultError{err: pathErr("read", syscall.EIO)})
	wrapped := fmt.Errorf("target: open b/o: %w", fe)
	if !errors.Is(wrapped, meta.ErrMountpathFault) || !errors.Is(wrapped, syscall.EIO) || meta.KindOf(wrapped) != meta.KindTransient {
		t.Fatalf("a fault error is neither ErrMountpathFault nor EIO: %v", wrapped)
	}
	if we := api.ToWire(wrapped); we.Status != 503 || we.Code != "MountpathFault" {
		t.Fatalf("wire form %+v, want 503 MountpathFault", we)
	}
}

// loopExt4 makes an ext4 file system of 32 MiB in a file on a loop device and mounts it at a
// new directory: a disk that shutdownFS can make fail for real. It skips the test unless it
// runs as root with losetup and mkfs.ext4 (CI does: .ci/run installs e2fsprogs).
func loopExt4(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a loop device")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "e2fsck", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install mount e2fsprogs)", tool)
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs loop devices (the kernel's loop driver): %v", err)
	}
	base := t.TempDir()
	img, dir := filepath.Join(base, "disk.img"), filepath.Join(base, "mnt")
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	dev := run("losetup", "--find", "--show", img)
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	run("mkfs.ext4", "-q", "-F", dev)
	run("mount", dev, dir)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// shutdownFS makes the ext4 file system mounted at dir fail as a dead disk does: every read,
// write, fsync and xattr call answers EIO from then on (EXT4_IOC_SHUTDOWN, what xfstests'
// godown uses).
func shutdownFS(t *testing.T, dir string) {
	t.Helper()
	const ext4IocShutdown = 0x8004587d // _IOR('X', 125, __u32)
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetPointerInt(int(f.Fd()), ext4IocShutdown, unix.FS_SHUTDOWN_FLAGS_NOLOGFLUSH); err != nil {
		t.Fatalf("shut down %s: %v", dir, err)
	}
}

// newProbeTarget is a target (not running: no listeners, no meta) on the given mountpaths.
func newProbeTarget(t *testing.T, fsys FS, mps []string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = "t1"
	cfg.MetaURLs = []string{"http://127.0.0.1:1"}
	cfg.PublicAddr, cfg.ControlAddr, cfg.DataAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Mountpaths = mps
	cfg.MountpathProbe.Timeout = 300 * time.Millisecond
	if fsys != nil {
		cfg.FS = fsys
	}
	s, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Follower().Store(testSnapshot(5, testBucket("bkt", 1, "")))
	return s
}

// TestDeadDiskIsDisabled: objects on a real ext4 mountpath; the file system is shut down; a
// GET of one of them answers MountpathFault (retriable) and makes the mountpath suspect; the
// probe fails; the target disables it, counts it, and the object is then "not found" with a
// message that names the failed mountpath. The record keeps it disabled when the store is
// opened again; enabling it after the repair forgets it.
func TestDeadDiskIsDisabled(t *testing.T) {
	disk := loopExt4(t)
	mps := []string{t.TempDir(), disk}
	s := newProbeTarget(t, nil, mps)
	b := testBucket("bkt", 1, "")
	var onDisk string
	for i := 0; onDisk == ""; i++ {
		name := fmt.Sprintf("obj-%d", i)
		mustPut(t, s.store, b, name, "payload "+name)
		if mp, _, _ := s.store.locate(b, name); mp == disk {
			onDisk = name
		}
	}
	if err := s.store.probeMountpath(disk); err != nil {
		t.Fatalf("probe of a healthy disk: %v", err)
	}

	shutdownFS(t, disk)
	_, err := s.openForRead(b, onDisk, false)
	if !errors.Is(err, meta.ErrMountpathFault) || api.StatusOf(err) != 503 {
		t.Fatalf("GET on the dead disk: %v (status %d), want 503 MountpathFault", err, api.StatusOf(err))
	}
	select {
	case mp := <-s.mphealth.suspects:
		if mp != disk {
			t.Fatalf("suspect %s, want %s", mp, disk)
		}
	default:
		t.Fatal("the I/O error did not queue a probe")
	}
	start := time.Now()
	s.mphealth.check(context.Background(), disk, true)
	t.Logf("probe and disable took %s", time.Since(start).Round(time.Millisecond))
	st := s.store.mountpathState()
	if len(st.Active) != 1 || st.Active[0] != mps[0] || len(st.Disabled) != 1 || st.Disabled[0] != disk || len(st.Draining) != 0 {
		t.Fatalf("mountpaths %+v, want %s disabled, not draining", st, disk)
	}
	if n := counterValue(t, s, "ais_target_mountpath_failures_total", disk); n != 1 {
		t.Fatalf("failures_total{%s} = %v, want 1", disk, n)
	}
	if n := counterValue(t, s, "ais_target_mountpaths_disabled", ""); n != 1 {
		t.Fatalf("mountpaths_disabled = %v, want 1", n)
	}
	_, err = s.openForRead(b, onDisk, false)
	if !errors.Is(err, meta.ErrObjectNotFound) || !strings.Contains(err.Error(), disk+" of this target failed") {
		t.Fatalf("GET after the disable: %v, want not found naming %s", err, disk)
	}
	mustPut(t, s.store, b, onDisk, "new") // writes go to the healthy mountpath

	// A restart keeps the dead disk disabled.
	again := newProbeTarget(t, nil, mps).store
	if st := again.mountpathState(); len(st.Active) != 1 || len(st.Disabled) != 1 || st.Disabled[0] != disk {
		t.Fatalf("after a restart: %+v, want %s still disabled", st, disk)
	}
	// Without the record, the dead disk fails at start and is disabled (and recorded) then.
	if err := os.Remove(filepath.Join(mps[0], sysDir, failedRecordName)); err != nil {
		t.Fatal(err)
	}
	again = newProbeTarget(t, nil, mps).store
	if st := again.mountpathState(); len(st.Active) != 1 || len(st.Disabled) != 1 || st.Disabled[0] != disk {
		t.Fatalf("a restart on a dead disk without the record: %+v, want %s disabled", st, disk)
	}
	if _, err := os.Stat(filepath.Join(mps[0], sysDir, failedRecordName)); err != nil {
		t.Fatalf("the failure at start was not recorded: %v", err)
	}

	// Repair: unmount, check the image, mount it again (on a new loop device: another mount
	// namespace may still hold the old one); enable.
	img := filepath.Join(filepath.Dir(disk), "disk.img")
	for _, c := range [][]string{{"umount", disk}, {"e2fsck", "-fy", img}, {"mount", "-o", "loop", img, disk}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil && c[0] != "e2fsck" {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	if _, err := s.store.changeMountpaths(api.MountpathEnable, disk); err != nil {
		t.Fatalf("enable after repair: %v", err)
	}
	// Until the resilver has run, reads look at every mountpath for the newest copy
	// (TestEnabledDiskOlderCopies); the resilver keeps the newer one in its HRW place.
	j, err := s.startResilver("resilver-after-repair")
	if err != nil {
		t.Fatal(err)
	}
	<-j.Done()
	if data, _ := mustRead(t, s.store, b, onDisk); data != "new" {
		t.Fatalf("read %q after enable and resilver, want the newest version", data)
	}
	again = newProbeTarget(t, nil, mps).store
	if st := again.mountpathState(); len(st.Active) != 2 || len(st.Disabled) != 0 {
		t.Fatalf("after enable and restart: %+v, want both in use", st)
	}
}

// TestFullDiskIsNotFailed: a real tmpfs that is full answers ENOSPC to writes and to the
// probe; the mountpath stays in use.
func TestFullDiskIsNotFailed(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	s := newProbeTarget(t, nil, []string{t.TempDir(), dir})
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fill.Write(make([]byte, 2<<20))
	_ = fill.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs: %v, want ENOSPC", err)
	}
	if err := s.store.probeMountpath(dir); err != nil {
		t.Fatalf("probe of a full disk failed: %v", err)
	}
	s.mphealth.check(context.Background(), dir, false)
	if st := s.store.mountpathState(); len(st.Active) != 2 || len(st.Disabled) != 0 {
		t.Fatalf("mountpaths %+v: a full disk was disabled", st)
	}
}

// stallFS stands in for a hung disk: calls under prefix block until release is closed, or
// fail once with err.
type stallFS struct {
	FS
	prefix  string
	release chan struct{}
	err     error
}

func (f *stallFS) Create(name string) (File, error) {
	if strings.HasPrefix(name, f.prefix) {
		if f.err != nil {
			err := f.err
			f.err = nil
			return nil, err
		}
		if f.release != nil {
			<-f.release
		}
	}
	return f.FS.Create(name)
}

// TestHungDiskFailsProbe: a disk that does not answer within the timeout fails the probe.
func TestHungDiskFailsProbe(t *testing.T) {
	mps := tempMountpaths(t, 2)
	stall := &stallFS{FS: OSFS{}, prefix: mps[1] + "/"}
	s := newProbeTarget(t, stall, mps)
	stall.release = make(chan struct{})
	defer close(stall.release)
	start := time.Now()
	s.mphealth.check(context.Background(), mps[1], false)
	if st := s.store.mountpathState(); len(st.Disabled) != 1 || st.Disabled[0] != mps[1] {
		t.Fatalf("mountpaths %+v, want %s disabled", st, mps[1])
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("probe of a hung disk took %s", d)
	}
}

// TestTransientErrorKeepsMountpath: one EIO that the probe does not see again changes nothing.
func TestTransientErrorKeepsMountpath(t *testing.T) {
	mps := tempMountpaths(t, 2)
	stall := &stallFS{FS: OSFS{}, prefix: mps[1] + "/"}
	s := newProbeTarget(t, stall, mps)
	stall.err = &os.PathError{Op: "open", Path: mps[1] + "/x", Err: syscall.EIO}
	_, err := s.store.fs.Create(mps[1] + "/x")
	if !errors.Is(err, meta.ErrMountpathFault) {
		t.Fatalf("create: %v, want a fault", err)
	}
	mp := <-s.mphealth.suspects
	s.mphealth.check(context.Background(), mp, true)
	if st := s.store.mountpathState(); len(st.Active) != 2 {
		t.Fatalf("mountpaths %+v after a transient error", st)
	}
	if n := counterValue(t, s, "ais_target_mountpath_io_errors_total", mps[1]); n != 1 {
		t.Fatalf("io_errors_total = %v, want 1", n)
	}
}

// counterValue reads one sample of a metric of s, by its mountpath label ("" for none).
func counterValue(t *testing.T, s *Server, name, mp string) float64 {
	t.Helper()
	mfs, err := s.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := mp == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "mountpath" && l.GetValue() == mp {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestEnabledDiskOlderCopies: a disk that failed, was repaired and enabled again may hold an
// older copy of an object written meanwhile on another mountpath; until the resilver is done,
// a GET serves the newer copy (plain and mirrored buckets alike), and after it the newer copy is
// in the HRW place.
func TestEnabledDiskOlderCopies(t *testing.T) {
	tt := newTestTarget(t)
	s := tt.srv
	s.store.now = time.Now
	buckets := []*meta.Bucket{testBucket("bkt", 1, ""), testBucket("mir", 2, `{"mirror":{"copies":2}}`)}
	s.Follower().Store(testSnapshot(6, buckets...))
	for _, b := range buckets {
		// An object whose HRW mountpath is the one that fails.
		var name string
		for i := 0; ; i++ {
			name = fmt.Sprintf("obj-%d", i)
			if meta.Mountpath(meta.ObjectKey(b.Key(), name), tt.mps) == tt.mps[0] {
				break
			}
		}
		mustPut(t, s.store, b, name, "old bytes")
		if _, err := s.store.faultMountpath(tt.mps[0], errors.New("test: input/output error")); err != nil {
			t.Fatal(err)
		}
		mustPut(t, s.store, b, name, "new bytes")
		if _, err := s.store.changeMountpaths(api.MountpathEnable, tt.mps[0]); err != nil {
			t.Fatal(err)
		}
		o, err := s.openForRead(b, name, false)
		if err != nil {
			t.Fatalf("%s: GET after enable: %v", b.Name, err)
		}
		got, _ := io.ReadAll(io.LimitReader(o.File, o.Meta.Size))
		o.Close()
		if string(got) != "new bytes" {
			t.Fatalf("%s: GET after enable, before the resilver: %q, want the newer copy", b.Name, got)
		}
		j, err := s.startResilver("resilver-" + b.Name)
		if err != nil {
			t.Fatal(err)
		}
		<-j.Done()
		if s.store.mixed() {
			t.Fatalf("%s: still reading every mountpath after the resilver", b.Name)
		}
		if data, _ := mustRead(t, s.store, b, name); data != "new bytes" {
			t.Fatalf("%s: after the resilver: %q", b.Name, data)
		}
	}
}
