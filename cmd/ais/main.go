package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/api"
)

// defaultEndpoint is the gateway of a local cluster (`make run`).
const defaultEndpoint = "http://127.0.0.1:8080"

// CLI is the command tree. Shortcuts (ls, put, get, create, rmb, rmo) come first: they are
// what users type most.
type CLI struct {
	Endpoint string `short:"e" env:"AIS_ENDPOINT" default:"${endpoint}" placeholder:"URL" help:"Gateway to talk to (default ${default})."`
	Proxy    bool   `env:"AIS_PROXY" help:"Stream object data through the gateway instead of being redirected to targets."`

	Ls     LsCmd           `cmd:"" group:"Shortcuts:" help:"List buckets, or the objects of a bucket (ais ls ais://BUCKET)."`
	Put    PutCmd          `cmd:"" group:"Shortcuts:" help:"Upload a file, stdin or a directory tree."`
	Get    GetCmd          `cmd:"" group:"Shortcuts:" help:"Download an object, or many objects by prefix."`
	Create BucketCreateCmd `cmd:"" group:"Shortcuts:" help:"Create buckets (ais bucket create)."`
	Rmb    BucketRmCmd     `cmd:"" group:"Shortcuts:" help:"Remove buckets with all their objects (ais bucket rm)."`
	Rmo    ObjectRmCmd     `cmd:"" group:"Shortcuts:" help:"Remove objects (ais object rm)."`

	Bucket  BucketCmd  `cmd:"" help:"Create, list and remove buckets; show and set their properties."`
	Object  ObjectCmd  `cmd:"" help:"Show, print and remove objects."`
	Show    ShowCmd    `cmd:"" help:"Show the cluster."`
	Cluster ClusterCmd `cmd:"" help:"Change the cluster: put nodes in maintenance, activate or decommission them."`
	Job     JobCmd     `cmd:"" help:"List, show, wait for, stop and start jobs (rebalance, resilver, ...)."`
	Storage StorageCmd `cmd:"" help:"Change a target's storage: attach, detach, enable or disable mountpaths."`
	Auth    AuthCmd    `cmd:"" help:"Manage the S3 API's users and access keys."`

	Completion CompletionCmd `cmd:"" help:"Print a shell completion script: source <(ais completion bash)."`
	Complete   CompleteCmd   `cmd:"" name:"__complete" hidden:"" help:"Print completion candidates (used by the completion scripts)."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newConsole(os.Stdin, os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// exitCode carries kong's request to exit (after --help) out of parsing.
type exitCode int

// run parses args, runs the command and returns the process's exit status: 0, 1 when the
// command failed, 2 when the command line is wrong.
func run(ctx context.Context, args []string, con *console) (code int) {
	interrupted := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cli CLI
	reach := &reachability{cancel: cancel}
	var client *api.Client
	parser, err := newParser(&cli, con,
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.BindSingletonProvider(func() (*api.Client, error) {
			c, err := newClient(cli.Endpoint, reach)
			if err != nil {
				return nil, fmt.Errorf("--endpoint %q: %v", cli.Endpoint, err)
			}
			c.Proxy = cli.Proxy
			client = c
			return c, nil
		}),
	)
	if err != nil {
		fmt.Fprintf(con.Err, "ais: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	if len(args) == 0 {
		args = []string{"--help"}
	}
	kctx, err := parser.Parse(expandProps(args))
	if err != nil {
		fmt.Fprintf(con.Err, "ais: %s\n", usageError(err))
		return 2
	}
	if err := kctx.Run(); err != nil {
		endpoint := cli.Endpoint
		if client != nil {
			endpoint = client.Endpoint()
		}
		fmt.Fprintf(con.Err, "ais: %s\n", explain(err, endpoint, reach))
		if interrupted.Err() != nil {
			return 130 // as a shell reports a command ended by SIGINT
		}
		return 1
	}
	return 0
}

// expandProps lets "--props k=v k2=v2" (as "ais bucket create" documents it) pass kong,
// which takes one value per flag and no positional after a flag that follows a positional
// list: the KEY=VALUE words after a "--props KEY=VALUE" each get a "--props" of their own.
func expandProps(args []string) []string {
	out := make([]string, 0, len(args))
	inProps, value := false, false
	for _, a := range args {
		switch {
		case value: // the value of "--props"
			value, inProps = false, strings.Contains(a, "=")
		case a == "--":
			inProps = false
		case a == "--props" || a == "-p":
			value = true
		case strings.HasPrefix(a, "--props="):
			inProps = strings.Contains(a[len("--props="):], "=")
		case inProps && strings.Contains(a, "=") && !strings.HasPrefix(a, "-") && !isRemote(a):
			out = append(out, "--props")
		default:
			inProps = false
		}
		out = append(out, a)
	}
	return out
}

// newParser builds the kong parser of the command tree, writing to con.
func newParser(cli *CLI, con *console, opts ...kong.Option) (*kong.Kong, error) {
	return kong.New(cli, append([]kong.Option{
		kong.Name("ais"),
		kong.Description("ais drives an AIS cluster through its gateway: buckets, objects, the cluster.\n\n" +
			"Buckets are written ais://BUCKET, objects ais://BUCKET/OBJECT."),
		kong.Vars{"endpoint": defaultEndpoint, "workers": strconv.Itoa(defaultWorkers())},
		kong.Writers(con.Out, con.Err),
		kong.Exit(func(c int) { panic(exitCode(c)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Bind(con),
	}, opts...)...)
}

// usageError words a command-line error and names the help to read.
func usageError(err error) string {
	msg := err.Error()
	help := `"ais --help"`
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		if n := pe.Context.Selected(); n != nil {
			help = fmt.Sprintf("%q", commandPath(n)+" --help")
		}
	}
	return fmt.Sprintf("%s; see %s", strings.TrimSuffix(msg, "."), help)
}

// commandPath is "ais bucket props set" for a node of the command tree.
func commandPath(n *kong.Node) string {
	var parts []string
	for ; n != nil; n = n.Parent {
		parts = append([]string{n.Name}, parts...)
	}
	return strings.Join(parts, " ")
}

// console is the command's terminal: its streams, and whether progress may be drawn.
type console struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Progress says stderr is a terminal, so transfers draw a progress line there.
	Progress bool
	// OutTerminal says stdout is a terminal: data written there must not share it with a
	// progress line.
	OutTerminal bool
	// Width reports the terminal's width in columns.
	Width func() int
}

// forStdout is the console for a command that writes data to stdout.
func (c *console) forStdout() *console {
	if !c.OutTerminal {
		return c
	}
	cc := *c
	cc.Progress = false
	return &cc
}

// progress starts a progress line, or returns nil (which does nothing) off a terminal.
func (c *console) progress(label string, total int64, files int) *progress {
	if !c.Progress {
		return nil
	}
	return newProgress(c.Err, label, total, files, c.Width, drawPeriod)
}
