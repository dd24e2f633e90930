package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// ConfigFile is the type of a --config flag: a TOML or YAML file whose keys are the names of
// the command's flags (log-level = "debug"; log_level is accepted too). Values given on the
// command line win over the file's. An unknown key, or a value the flag would refuse, is an
// error that names the file and the key.
//
// The format follows the extension: .toml, or .yaml/.yml; any other name is read as TOML if it
// parses as TOML, else as YAML.
type ConfigFile string

// notInFile are the flags that a config file may not set.
var notInFile = map[string]bool{"config": true, "print-config": true, "help": true}

// BeforeResolve loads the file and adds it as a resolver for the flags not set on the
// command line. kong calls it when --config is given.
func (f ConfigFile) BeforeResolve(ctx *kong.Context, trace *kong.Path) error {
	path, _ := ctx.FlagValue(trace.Flag).(ConfigFile)
	if path == "" {
		return nil
	}
	r, err := LoadConfig(string(path), ctx.Model)
	if err != nil {
		return err
	}
	ctx.AddResolver(r)
	return nil
}

// fileResolver gives kong the values of one config file.
type fileResolver struct {
	path   string
	values map[string]any // by flag name
}

// LoadConfig reads a config file and checks that every key names a flag of app (of any of its
// commands, so that one file serves all of them; each command takes the keys it has).
func LoadConfig(path string, app *kong.Application) (kong.Resolver, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	doc, err := parseDoc(path, raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	flags := flagsOf(app)
	r := &fileResolver{path: path, values: map[string]any{}}
	for _, key := range sortedKeys(doc) {
		name := strings.ReplaceAll(key, "_", "-")
		v := doc[key]
		if _, nested := v.(map[string]any); nested {
			return nil, fmt.Errorf("config %s: key %q: want a value, not a table (keys are flat, named as the flags)", path, key)
		}
		f, ok := flags[name]
		switch {
		case notInFile[name]:
			return nil, fmt.Errorf("config %s: key %q cannot be set in a config file", path, key)
		case !ok:
			return nil, fmt.Errorf("config %s: unknown key %q%s", path, key, suggest(name, flags))
		}
		if _, dup := r.values[name]; dup {
			return nil, fmt.Errorf("config %s: key %q is given twice", path, key)
		}
		if err := tryDecode(f, v); err != nil {
			return nil, fmt.Errorf("config %s: key %q: %w", path, key, err)
		}
		r.values[name] = v
	}
	return r, nil
}

func (r *fileResolver) Validate(*kong.Application) error { return nil }

func (r *fileResolver) Resolve(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	v, ok := r.values[flag.Name]
	if !ok {
		return nil, nil
	}
	return v, nil
}

// parseDoc reads raw as TOML or YAML into a map.
func parseDoc(path string, raw []byte) (map[string]any, error) {
	parseTOML := func() (map[string]any, error) {
		doc := map[string]any{}
		if _, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
			return nil, fmt.Errorf("TOML: %w", err)
		}
		return doc, nil
	}
	parseYAML := func() (map[string]any, error) {
		doc := map[string]any{}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("YAML: %w", err)
		}
		return doc, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		return parseTOML()
	case ".yaml", ".yml":
		return parseYAML()
	}
	doc, terr := parseTOML()
	if terr == nil {
		return doc, nil
	}
	doc, yerr := parseYAML()
	if yerr == nil {
		return doc, nil
	}
	return nil, errors.Join(terr, yerr)
}

// tryDecode checks that the flag accepts v, the way kong will decode it, and that it is one
// of the flag's enum values if it has them.
func tryDecode(f *kong.Flag, v any) error {
	if _, isList := v.([]any); isList && f.Target.Kind() != reflect.Slice {
		return fmt.Errorf("want one value, not a list")
	}
	target := reflect.New(f.Target.Type()).Elem()
	scan := kong.Scan().PushTyped(v, kong.FlagValueToken)
	if err := f.Mapper.Decode(&kong.DecodeContext{Value: f.Value, Scan: scan}, target); err != nil {
		return err
	}
	if f.Enum == "" {
		return nil
	}
	allowed := map[string]bool{}
	for _, e := range f.EnumSlice() {
		allowed[e] = true
	}
	if !allowed[fmt.Sprint(target.Interface())] {
		return fmt.Errorf("%v is not one of %s", v, strings.Join(f.EnumSlice(), ", "))
	}
	return nil
}

// flagsOf returns every flag of the application and its commands, by name.
func flagsOf(app *kong.Application) map[string]*kong.Flag {
	out := map[string]*kong.Flag{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			out[f.Name] = f
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(app.Node)
	return out
}

// suggest names the flag closest to name, if one is close.
func suggest(name string, flags map[string]*kong.Flag) string {
	best, bestD := "", 3
	for n := range flags {
		if notInFile[n] {
			continue
		}
		if d := distance(name, n); d < bestD || (d == bestD && best != "" && n < best) {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
