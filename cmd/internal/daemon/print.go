package daemon

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"
)

// PrintConfig is the type of a --print-config flag: it prints the effective configuration
// (command line over config file over defaults) as a TOML config file, each key with its help
// as a comment, and exits 0 without starting anything. Required values that are missing are
// printed commented out.
type PrintConfig bool

// BeforeApply prints and exits. It runs after the config file was read, before kong checks
// required flags, so that a template can be printed with no flags at all.
func (PrintConfig) BeforeApply(app *kong.Kong, ctx *kong.Context) error {
	if err := WriteConfig(app.Stdout, ctx); err != nil {
		return err
	}
	app.Exit(0)
	return nil
}

// WriteConfig writes the effective value of every flag of the selected command as TOML.
func WriteConfig(w io.Writer, ctx *kong.Context) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# %s: effective configuration (flags over --config file over defaults).\n", ctx.Model.Name)
	fmt.Fprintf(&buf, "# Use it as --config FILE; every key is also a flag of the same name.\n")
	for _, f := range ctx.Flags() {
		if notInFile[f.Name] || f.Hidden {
			continue
		}
		v := ctx.FlagValue(f)
		line, err := tomlLine(f.Name, v)
		if err != nil {
			return fmt.Errorf("print config: %s: %w", f.Name, err)
		}
		buf.WriteString("\n")
		for _, l := range wrap(f.Help, 94) {
			fmt.Fprintf(&buf, "# %s\n", l)
		}
		if f.Required && isZero(v) {
			fmt.Fprintf(&buf, "# (required)\n# %s", line)
			continue
		}
		buf.WriteString(line)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// tomlLine encodes key = value; durations are written as strings such as "500ms".
func tomlLine(key string, v any) (string, error) {
	switch x := v.(type) {
	case time.Duration:
		v = x.String()
	case ConfigFile:
		v = string(x)
	case nil:
		v = ""
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Len() == 0 {
		return key + " = []\n", nil
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{key: v}); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func isZero(v any) bool {
	if v == nil {
		return true
	}
	return reflect.ValueOf(v).IsZero() || (reflect.ValueOf(v).Kind() == reflect.Slice && reflect.ValueOf(v).Len() == 0)
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
