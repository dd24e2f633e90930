package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the command tree.
type CLI struct {
	Put   PutCmd   `cmd:"" help:"Write objects: new names (PREFIX00000000, PREFIX00000001, ...), or cycle over --objects names."`
	Get   GetCmd   `cmd:"" help:"Read objects at random from --objects names (as put wrote them), or from a listing of the bucket."`
	Mixed MixedCmd `cmd:"" help:"Read and write at random over --objects names; --put-pct of the operations are writes."`
	Serve ServeCmd `cmd:"" help:"Run the HTTP ceiling: a minimal object server (GET with sendfile, PUT into files) to drive with --url."`

	Matrix    MatrixCmd    `cmd:"" help:"Run the fixed matrix of 'make bench' against a running cluster and the ceilings; write JSON."`
	Scale     ScaleCmd     `cmd:"" help:"Measure aggregate PUT and GET throughput of a running cluster (one point of the scale-out curve); write JSON."`
	Rebalance RebalanceCmd `cmd:"" help:"Measure a rebalance: wait for the jobs that started after a target joined and report what they moved and how fast; write JSON."`
	Protect   ProtectCmd   `cmd:"" help:"Measure the cost of mirroring and erasure coding: PUT and GET of protected buckets next to a plain one, GET with a target killed; write JSON."`
	Report    ReportCmd    `cmd:"" help:"Render matrix and scale-out results into the generated part of docs/performance.md."`

	WaitCluster WaitClusterCmd `cmd:"" name:"wait-cluster" hidden:"" help:"Wait until a cluster serves with its targets (make bench)."`
	S3Key       S3KeyCmd       `cmd:"" name:"s3-key" hidden:"" help:"Make an S3 access key through meta and print 'ID SECRET' (make bench)."`

	LogLevel   string `default:"warn" enum:"debug,info,warn,error" help:"Log level of the bench's own messages: debug, info, warn or error."`
	CPUProfile string `name:"cpuprofile" placeholder:"FILE" help:"Write a CPU profile of the load generator itself to FILE (go tool pprof), to tell its own cost from the cluster's."`
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli, kong.Name("ais-bench"),
		kong.Description("ais-bench measures an AIS cluster and the ceilings of the machine it runs on.\n\n"+
			"Start with 'ais-bench put --bucket bench --size 1MiB --duration 10s', then "+
			"'ais-bench get --bucket bench --size 1MiB --objects N' with N the number of objects put wrote. "+
			"See docs/performance.md."),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}))
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(cli.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(log)
	if cli.CPUProfile != "" {
		f, err := os.Create(cli.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ais-bench: --cpuprofile:", err)
			os.Exit(2)
		}
		defer f.Close()
	}
	err := kctx.Run()
	pprof.StopCPUProfile()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ais-bench:", err)
		os.Exit(1)
	}
}
