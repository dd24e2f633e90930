package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

type testCLI struct {
	Config      ConfigFile    `placeholder:"FILE" help:"Config file."`
	PrintConfig PrintConfig   `name:"print-config" help:"Print the config."`
	ID          string        `required:"" help:"Node ID."`
	Meta        []string      `sep:"," help:"Meta URLs."`
	Wait        time.Duration `default:"5s" help:"A duration."`
	Count       uint64        `default:"3" help:"A number."`
	Leave       bool          `default:"true" negatable:"" help:"A switch."`
	LogLevel    string        `default:"info" enum:"debug,info,warn,error" help:"Log level."`
}

// parse runs kong over args; exit is the code --print-config exits with (-1: none).
func parse(t *testing.T, args ...string) (c testCLI, out string, exit int, err error) {
	t.Helper()
	var buf bytes.Buffer
	exit = -1
	p, err := kong.New(&c, kong.Name("testd"), kong.Writers(&buf, &buf), kong.Exit(func(code int) { exit = code; panic(exitPanic{}) }))
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); !ok {
					panic(r)
				}
			}
		}()
		_, err = p.Parse(args)
	}()
	return c, buf.String(), exit, err
}

type exitPanic struct{}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFile(t *testing.T) {
	toml := writeFile(t, "d.toml", "id = \"n1\"\nmeta = [\"http://a:1\", \"http://b:2\"]\nwait = \"250ms\"\ncount = 7\nleave = false\nlog_level = \"debug\"\n")
	yaml := writeFile(t, "d.yaml", "id: n2\nmeta: http://c:3\nwait: 1m\n")
	noext := writeFile(t, "d.conf", "id: n3\n")
	tests := []struct {
		name    string
		args    []string
		want    testCLI
		wantErr string
	}{
		{"toml", []string{"--config", toml}, testCLI{ID: "n1", Meta: []string{"http://a:1", "http://b:2"}, Wait: 250 * time.Millisecond, Count: 7, LogLevel: "debug"}, ""},
		{"flags win", []string{"--config", toml, "--id", "x", "--wait", "2s", "--leave"}, testCLI{ID: "x", Meta: []string{"http://a:1", "http://b:2"}, Wait: 2 * time.Second, Count: 7, Leave: true, LogLevel: "debug"}, ""},
		{"yaml", []string{"--config", yaml}, testCLI{ID: "n2", Meta: []string{"http://c:3"}, Wait: time.Minute, Count: 3, Leave: true, LogLevel: "info"}, ""},
		{"sniffed", []string{"--config", noext}, testCLI{ID: "n3", Wait: 5 * time.Second, Count: 3, Leave: true, LogLevel: "info"}, ""},
		{"unknown key", []string{"--config", writeFile(t, "u.toml", "id = \"a\"\nwiat = \"1s\"\n")}, testCLI{}, `unknown key "wiat" (did you mean "wait"?)`},
		{"bad duration", []string{"--config", writeFile(t, "b.toml", "id = \"a\"\nwait = \"soon\"\n")}, testCLI{}, `key "wait"`},
		{"bad number", []string{"--config", writeFile(t, "n.yaml", "id: a\ncount: -1\n")}, testCLI{}, `key "count"`},
		{"bad enum", []string{"--config", writeFile(t, "e.toml", "id = \"a\"\nlog-level = \"loud\"\n")}, testCLI{}, `key "log-level": loud is not one of debug, info, warn, error`},
		{"list for a value", []string{"--config", writeFile(t, "l.toml", "id = [\"a\"]\n")}, testCLI{}, `key "id": want one value, not a list`},
		{"table", []string{"--config", writeFile(t, "t.toml", "[raft]\nx = 1\n")}, testCLI{}, `key "raft": want a value, not a table`},
		{"config in config", []string{"--config", writeFile(t, "c.toml", "config = \"x\"\n")}, testCLI{}, `key "config" cannot be set`},
		{"twice", []string{"--config", writeFile(t, "d2.toml", "log-level = \"debug\"\nlog_level = \"info\"\n")}, testCLI{}, `is given twice`},
		{"syntax", []string{"--config", writeFile(t, "s.toml", "id = \n")}, testCLI{}, "TOML"},
		{"missing file", []string{"--config", "/nonexistent/x.toml"}, testCLI{}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _, err := parse(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Config = ""
			if got.ID != tc.want.ID || strings.Join(got.Meta, ",") != strings.Join(tc.want.Meta, ",") || got.Wait != tc.want.Wait ||
				got.Count != tc.want.Count || got.Leave != tc.want.Leave || got.LogLevel != tc.want.LogLevel {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPrintConfig(t *testing.T) {
	toml := writeFile(t, "d.toml", "id = \"n1\"\nmeta = [\"http://a:1\"]\ncount = 9\n")
	_, out, exit, err := parse(t, "--config", toml, "--wait", "3s", "--print-config")
	if err != nil || exit != 0 {
		t.Fatalf("exit %d, err %v", exit, err)
	}
	for _, want := range []string{"# Node ID.\nid = \"n1\"\n", "meta = [\"http://a:1\"]\n", "wait = \"3s\"\n", "count = 9\n", "leave = true\n", "log-level = \"info\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "config =") || strings.Contains(out, "print-config") {
		t.Errorf("output sets config or print-config:\n%s", out)
	}
	// The output is a config file that reads back to the same configuration.
	again, out2, _, err := parse(t, "--config", writeFile(t, "again.toml", out))
	if err != nil || again.ID != "n1" || again.Wait != 3*time.Second || again.Count != 9 {
		t.Fatalf("read back: %+v %v", again, err)
	}
	_ = out2
	// Without the required ID, a template with the ID commented out.
	_, out, exit, err = parse(t, "--print-config")
	if err != nil || exit != 0 || !strings.Contains(out, "# (required)\n# id = \"\"\n") {
		t.Fatalf("template: exit %d, err %v:\n%s", exit, err, out)
	}
}

func TestNotifier(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if (&Notifier{}).Enabled() || NewNotifier("").Notify("READY=1") != nil {
		t.Fatal("a notifier without a socket must do nothing")
	}
	n := NewNotifier(sock)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- Serve(ctx, slog.New(slog.DiscardHandler), n, 300*time.Millisecond, Service{
			Run:         func(ctx context.Context) error { <-ctx.Done(); return nil },
			WaitServing: func(ctx context.Context) error { <-ready; return nil },
			Healthy:     func(context.Context) bool { return true },
			Status:      "serving",
		})
	}()
	read := func() string {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 512)
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:k])
	}
	close(ready)
	if got := read(); got != "READY=1\nSTATUS=serving" {
		t.Fatalf("first message %q", got)
	}
	if got := read(); got != "WATCHDOG=1" {
		t.Fatalf("second message %q", got)
	}
	cancel()
	for {
		if got := read(); strings.HasPrefix(got, "STOPPING=1") {
			break
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if d := WatchdogInterval("30000000", "", 1); d != 30*time.Second {
		t.Errorf("watchdog %v", d)
	}
	if d := WatchdogInterval("30000000", "2", 1); d != 0 {
		t.Errorf("watchdog for another pid: %v", d)
	}
}
