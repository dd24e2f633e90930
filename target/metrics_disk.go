package target

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// mountpathCollector reports each mountpath's file system capacity and, when the mountpath
// sits on a block device, the device's I/O counters from /sys/dev/block/MAJ:MIN/stat (a rate of
// ais_target_mountpath_io_busy_seconds_total is the device's utilization, 0 to 1).
type mountpathCollector struct {
	mps                         []string
	capacity, used, avail       *prometheus.Desc
	busy, readBytes, writeBytes *prometheus.Desc
	reads, writes               *prometheus.Desc
}

func newMountpathCollector(mps []string) *mountpathCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ais_target_mountpath_"+name, help, append([]string{"mountpath"}, labels...), nil)
	}
	return &mountpathCollector{
		mps:        mps,
		capacity:   d("capacity_bytes", "Size of the mountpath's file system."),
		used:       d("used_bytes", "Bytes in use on the mountpath's file system (by anyone)."),
		avail:      d("available_bytes", "Bytes still available to the target on the mountpath's file system."),
		busy:       d("io_busy_seconds_total", "Time the mountpath's block device was busy with I/O; its rate is the utilization (0-1).", "device"),
		readBytes:  d("read_bytes_total", "Bytes read from the mountpath's block device (by anyone).", "device"),
		writeBytes: d("written_bytes_total", "Bytes written to the mountpath's block device (by anyone).", "device"),
		reads:      d("reads_total", "Reads completed by the mountpath's block device.", "device"),
		writes:     d("writes_total", "Writes completed by the mountpath's block device.", "device"),
	}
}

func (m *mountpathCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.capacity, m.used, m.avail, m.busy, m.readBytes, m.writeBytes, m.reads, m.writes} {
		ch <- d
	}
}

func (m *mountpathCollector) Collect(ch chan<- prometheus.Metric) {
	for _, mp := range m.mps {
		var st unix.Statfs_t
		if err := unix.Statfs(mp, &st); err == nil {
			bs := float64(st.Bsize)
			ch <- prometheus.MustNewConstMetric(m.capacity, prometheus.GaugeValue, float64(st.Blocks)*bs, mp)
			ch <- prometheus.MustNewConstMetric(m.used, prometheus.GaugeValue, float64(st.Blocks-st.Bfree)*bs, mp)
			ch <- prometheus.MustNewConstMetric(m.avail, prometheus.GaugeValue, float64(st.Bavail)*bs, mp)
		}
		dev, io, err := blockStats(mp)
		if err != nil {
			continue // not on a block device (tmpfs, overlay), or no sysfs
		}
		ch <- prometheus.MustNewConstMetric(m.busy, prometheus.CounterValue, float64(io.busyMs)/1000, mp, dev)
		ch <- prometheus.MustNewConstMetric(m.readBytes, prometheus.CounterValue, float64(io.readSectors)*512, mp, dev)
		ch <- prometheus.MustNewConstMetric(m.writeBytes, prometheus.CounterValue, float64(io.writeSectors)*512, mp, dev)
		ch <- prometheus.MustNewConstMetric(m.reads, prometheus.CounterValue, float64(io.reads), mp, dev)
		ch <- prometheus.MustNewConstMetric(m.writes, prometheus.CounterValue, float64(io.writes), mp, dev)
	}
}

// ioStats are the fields of a block device's stat file that the metrics use (the kernel's
// Documentation/block/stat.rst; sectors are 512 bytes whatever the device's own size).
type ioStats struct {
	reads, readSectors, writes, writeSectors, busyMs uint64
}

// blockStats finds the block device (or partition) that holds dir and reads its counters.
func blockStats(dir string) (string, ioStats, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", ioStats{}, err
	}
	maj, min := unix.Major(st.Dev), unix.Minor(st.Dev)
	if maj == 0 {
		return "", ioStats{}, fmt.Errorf("%s: no block device", dir)
	}
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", maj, min)
	raw, err := os.ReadFile(sys + "/stat")
	if err != nil {
		return "", ioStats{}, err
	}
	f := strings.Fields(string(raw))
	if len(f) < 10 {
		return "", ioStats{}, fmt.Errorf("%s/stat: %d fields", sys, len(f))
	}
	n := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
	dev := fmt.Sprintf("%d:%d", maj, min)
	if link, err := os.Readlink(sys); err == nil {
		dev = link[strings.LastIndexByte(link, '/')+1:]
	}
	return dev, ioStats{reads: n(0), readSectors: n(2), writes: n(4), writeSectors: n(6), busyMs: n(9)}, nil
}
