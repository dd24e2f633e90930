package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Modes of the matrix: the cluster's, and the ceilings'.
const (
	modeRedirect        = "redirect"          // native API, redirected to the target
	modeRedirectNoCache = "redirect-no-cache" // the same, asking the gateway every time
	modeGateway         = "gateway"           // native API through the gateway (?proxy=true)
	modeS3              = "s3"                // S3 API through the gateway
	modeHTTP            = "http"              // the HTTP ceiling, no fsync
	modeHTTPFsync       = "http-fsync"        // the HTTP ceiling, fsync per PUT
	modeDisk            = "disk"              // the disk ceiling, no fsync
	modeDiskFsync       = "disk-fsync"        // the disk ceiling, fsync per object
)

// Cell is one measured figure of the matrix: an operation on objects of one size in one mode,
// the best of its rounds.
type Cell struct {
	Size    int64    `json:"size"`
	Op      string   `json:"op"`
	Mode    string   `json:"mode"`
	Workers int      `json:"workers"`
	Objects int      `json:"objects,omitempty"` // GET: distinct names read
	Best    Result   `json:"best"`
	Rounds  []Result `json:"rounds,omitempty"`
	Note    string   `json:"note,omitempty"` // why it was not measured
}

// MatrixResult is what 'ais-bench matrix' writes.
type MatrixResult struct {
	Date     time.Time `json:"date"`
	Commit   string    `json:"commit"`
	Machine  Machine   `json:"machine"`
	Cluster  string    `json:"cluster"`
	Duration string    `json:"duration"` // of each run
	Rounds   int       `json:"rounds"`
	// TCPCongestion is what the ceiling server's connections used, the same as the cluster's
	// public listeners ("" for the system's default, Machine.TCPDefault).
	TCPCongestion string  `json:"tcp_congestion"`
	Seconds       float64 `json:"seconds"` // the whole matrix
	Cells         []Cell  `json:"cells"`
}

// MatrixCmd runs the fixed matrix against a running cluster and the ceilings.
type MatrixCmd struct {
	Endpoint   string        `short:"e" env:"AIS_ENDPOINT" default:"http://127.0.0.1:8080" placeholder:"URL" help:"Gateway of the cluster."`
	CeilingDir string        `required:"" name:"ceiling-dir" placeholder:"DIR" help:"Directory for the ceilings' files, on the file system of the cluster's mountpaths."`
	Sizes      []byteSize    `default:"4KiB,1MiB,16MiB" help:"Object sizes."`
	Workers    []int         `default:"16,8,4" help:"Workers per size (same order as --sizes), for the cluster and the ceilings alike."`
	Duration   time.Duration `default:"3s" help:"Length of each run."`
	Rounds     int           `default:"3" help:"Runs of each cell, interleaved with the other modes; the best counts (the machine is shared)."`
	MaxBytes   byteSize      `name:"max-bytes" default:"1GiB" help:"GETs read at most this many bytes' worth of distinct objects per mode."`
	Cluster    string        `help:"Description of the cluster for the report (e.g. '1 target x 1 mountpath, 1 gateway, 3 meta')."`
	Commit     string        `help:"Commit measured, for the report."`
	Out        string        `required:"" placeholder:"FILE" help:"Where to write the results (JSON)."`

	TCPCongestion string `name:"tcp-congestion" default:"cubic" placeholder:"NAME" help:"TCP congestion control of the HTTP ceiling's connections: the one the cluster's public listeners use (ais-target and ais-gw --public-tcp-congestion), so that both send with the same; \"\": the system's default."`

	S3        bool   `name:"s3" help:"Measure the S3 API too."`
	S3Note    string `name:"s3-note" help:"Why S3 is not measured (shown in the report when --s3 is off)."`
	AccessKey string `name:"access-key" env:"AWS_ACCESS_KEY_ID" help:"S3 access key ID."`
	SecretKey string `name:"secret-key" env:"AWS_SECRET_ACCESS_KEY" help:"S3 secret access key."`
}

func (c *MatrixCmd) Run(ctx context.Context, log *slog.Logger) error {
	if len(c.Workers) != len(c.Sizes) {
		return fmt.Errorf("--workers needs one count per size (%d sizes)", len(c.Sizes))
	}
	start := time.Now()
	res := &MatrixResult{Date: start.UTC(), Commit: c.Commit, Machine: describeMachine(c.CeilingDir),
		Cluster: c.Cluster, Duration: c.Duration.String(), Rounds: c.Rounds, TCPCongestion: c.TCPCongestion}
	if err := os.MkdirAll(c.CeilingDir, 0o755); err != nil {
		return err
	}
	srv, err := startCeilingServer(ctx, filepath.Join(c.CeilingDir, "http"), c.TCPCongestion)
	if err != nil {
		return err
	}
	defer srv.stop()

	m := &matrix{cmd: c, log: log, ceilingURL: srv.url, pat: newPattern(), stamp: start.Unix()}
	if c.S3 {
		// The gateway learns a new key with the next epoch: try for a few seconds.
		var err error
		for try := 0; try < 20; try++ {
			if err = m.probeS3(ctx); err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			m.s3Note = "not measured: the S3 probe failed: " + err.Error()
		}
	} else {
		m.s3Note = "not measured"
		if c.S3Note != "" {
			m.s3Note += ": " + c.S3Note
		}
	}
	for i, size := range c.Sizes {
		cells, err := m.size(ctx, int64(size), c.Workers[i])
		res.Cells = append(res.Cells, cells...)
		if err != nil {
			return err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Machine.LoadAfter = loadAverage()
	return writeJSON(c.Out, res)
}

type matrix struct {
	cmd        *MatrixCmd
	log        *slog.Logger
	ceilingURL string
	pat        *pattern
	stamp      int64
	s3Note     string // non-empty: S3 is not measured, and why
}

// mode is one way of storing objects, with what it needs to run.
type mode struct {
	name string
	be   backend
}

// size measures every cell of one object size: PUT rounds interleaved over the modes, then GET
// rounds over what each mode wrote, then the ceilings' remaining cells.
func (m *matrix) size(ctx context.Context, size int64, workers int) ([]Cell, error) {
	c := m.cmd
	hc := benchHTTPClient(workers)
	bucket := fmt.Sprintf("bench-%s-%d", strings.ToLower(formatSize(size)), m.stamp)
	native, err := newNativeBackend(c.Endpoint, bucket, false, hc)
	if err != nil {
		return nil, err
	}
	if err := ensureBucket(ctx, native.c, bucket, nil); err != nil {
		return nil, err
	}
	proxied, _ := newNativeBackend(c.Endpoint, bucket, true, hc)
	disk := filepath.Join(c.CeilingDir, "disk")
	if err := os.MkdirAll(disk, 0o755); err != nil {
		return nil, err
	}
	// The modes measured in interleaved rounds; a GET cell reads what its PUT cell wrote.
	modes := []mode{
		{modeHTTPFsync, newRawBackend(m.ceilingURL, true, hc)},
		{modeRedirect, native},
		{modeGateway, proxied},
	}
	if m.s3Note == "" {
		modes = append(modes, mode{modeS3, newS3Backend(s3Config{Endpoint: c.Endpoint, Region: "us-east-1",
			AccessKey: c.AccessKey, SecretKey: c.SecretKey}, bucket, hc)})
	}
	// Ceiling writes measured once: they bound the others.
	once := []mode{
		{modeHTTP, newRawBackend(m.ceilingURL, false, hc)},
		{modeDisk, &diskBackend{dir: disk}},
		{modeDiskFsync, &diskBackend{dir: disk, fsync: true}},
	}

	cs := &cellSet{size: size, workers: workers}
	written := map[string]int64{} // names written per mode: PREFIX00000000 up
	put := func(md mode) error {
		spec := loadSpec{Op: opPut, Workers: workers, Duration: c.Duration, Prefix: m.prefix(size, md.name),
			MinSize: size, MaxSize: size, StartIndex: written[md.name]}
		sum, err := runLoad(ctx, spec, md.be, m.pat, nil)
		if err != nil {
			return fmt.Errorf("put %s %s: %w", formatSize(size), md.name, err)
		}
		written[md.name] = sum.NamesUsed
		cs.add(opPut, md.name, sum.result(opPut), 0)
		syscall.Sync() // no dirty pages carried into the next run
		return ctx.Err()
	}
	get := func(cellMode, from string, be backend, objs int64) error {
		spec := loadSpec{Op: opGet, Workers: workers, Duration: c.Duration, Prefix: m.prefix(size, from),
			MinSize: size, MaxSize: size, NumObjects: int(objs)}
		sum, err := runLoad(ctx, spec, be, m.pat, nil)
		if err != nil {
			return fmt.Errorf("get %s %s: %w", formatSize(size), cellMode, err)
		}
		cs.add(opGet, cellMode, sum.result(opGet), int(objs))
		return ctx.Err()
	}

	for round := 0; round < c.Rounds; round++ {
		for _, md := range modes {
			if err := put(md); err != nil {
				return cs.cells, err
			}
		}
	}
	for _, md := range once {
		if err := put(md); err != nil {
			return cs.cells, err
		}
	}

	// GET: the same number of distinct objects in every mode (the fewest any mode wrote, at
	// most --max-bytes of them), read at random.
	objs := max(1, int64(c.MaxBytes)/size)
	for _, md := range modes {
		objs = min(objs, written[md.name])
	}
	if objs == 0 {
		return cs.cells, fmt.Errorf("%s: a mode wrote no objects to read", formatSize(size))
	}
	type getMode struct {
		cell, from string
		be         backend
	}
	gets := []getMode{{modeHTTP, modeHTTPFsync, modes[0].be}}
	for _, md := range modes[1:] {
		gets = append(gets, getMode{md.name, md.name, md.be})
	}
	if size <= 64<<10 {
		// What a redirect costs: the same reads, each asking the gateway first.
		nc, _ := newNativeBackend(c.Endpoint, bucket, false, hc)
		nc.c.RedirectCacheSize = -1
		gets = append(gets, getMode{modeRedirectNoCache, modeRedirect, nc})
	}
	for round := 0; round < c.Rounds; round++ {
		for _, g := range gets {
			if err := get(g.cell, g.from, g.be, objs); err != nil {
				return cs.cells, err
			}
		}
	}
	if err := get(modeDisk, modeDisk, &diskBackend{dir: disk}, min(objs, written[modeDisk])); err != nil {
		return cs.cells, err
	}
	for _, d := range []string{disk, filepath.Join(c.CeilingDir, "http")} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			_ = os.Remove(filepath.Join(d, e.Name()))
		}
	}
	if m.s3Note != "" {
		cs.cells = append(cs.cells, Cell{Size: size, Op: opPut, Mode: modeS3, Workers: workers, Note: m.s3Note},
			Cell{Size: size, Op: opGet, Mode: modeS3, Workers: workers, Note: m.s3Note})
	}
	return cs.cells, nil
}

func (m *matrix) prefix(size int64, mode string) string {
	return fmt.Sprintf("%s-%s/", strings.ToLower(formatSize(size)), mode)
}

// cellSet gathers the rounds of one size's cells, in the order they were first measured.
type cellSet struct {
	size    int64
	workers int
	cells   []Cell
}

func (cs *cellSet) add(op, md string, r Result, objs int) {
	fmt.Fprintf(os.Stderr, "%-6s %-4s %-18s %s\n", formatSize(cs.size), op, md, r.line())
	for i := range cs.cells {
		if c := &cs.cells[i]; c.Op == op && c.Mode == md {
			c.Rounds = append(c.Rounds, r)
			if r.MiBPerSec > c.Best.MiBPerSec {
				c.Best = r
			}
			return
		}
	}
	cs.cells = append(cs.cells, Cell{Size: cs.size, Op: op, Mode: md, Workers: cs.workers, Objects: objs,
		Best: r, Rounds: []Result{r}})
}

// probeS3 writes and reads one object over S3.
func (m *matrix) probeS3(ctx context.Context) error {
	c := m.cmd
	bucket := fmt.Sprintf("bench-s3-probe-%d", m.stamp)
	be := newS3Backend(s3Config{Endpoint: c.Endpoint, Region: "us-east-1", AccessKey: c.AccessKey, SecretKey: c.SecretKey},
		bucket, benchHTTPClient(1))
	if err := be.createBucket(ctx); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return err
	}
	var body patReader
	body.reset(m.pat, "probe", 1000)
	if err := be.put(ctx, "probe", &body); err != nil {
		return err
	}
	var chk checker
	chk.reset(m.pat, "probe", 0)
	n, err := be.get(ctx, "probe", 0, 0, make([]byte, 4096), chk.check)
	if err == nil && n != 1000 {
		err = fmt.Errorf("read %d of 1000 bytes", n)
	}
	return err
}

// ceilingServer is 'ais-bench serve' in a process of its own, as a cluster's servers are.
type ceilingProc struct {
	cmd *exec.Cmd
	url string
}

func startCeilingServer(ctx context.Context, dir, congestion string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve", "--dir", dir, "--tcp-congestion", congestion)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the ceiling server did not start: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &ceilingProc{cmd: cmd, url: strings.TrimSpace(line)}, nil
}

func (p *ceilingProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Machine describes where the bench ran.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryGiB  int    `json:"memory_gib"`
	Kernel     string `json:"kernel"`
	FileSystem string `json:"file_system"` // of the ceiling directory
	Go         string `json:"go"`
	TCPDefault string `json:"tcp_default,omitempty"` // net.ipv4.tcp_congestion_control
	LoadBefore string `json:"load_before,omitempty"` // /proc/loadavg: 1, 5 and 15 minutes
	LoadAfter  string `json:"load_after,omitempty"`
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

func describeMachine(dir string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		m.MemoryGiB = int((uint64(si.Totalram)*uint64(si.Unit) + 1<<29) >> 30)
	}
	var un syscall.Utsname
	if syscall.Uname(&un) == nil {
		m.Kernel = utsString(un.Release[:])
	}
	m.FileSystem = fsType(dir)
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); err == nil {
		m.TCPDefault = strings.TrimSpace(string(b))
	}
	m.LoadBefore = loadAverage()
	return m
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// fsType names the file system type of dir from /proc/mounts (the longest mount point that
// holds it).
func fsType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return ""
	}
	best, typ := "", ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, typ = mp, f[2]
		}
	}
	return typ
}
