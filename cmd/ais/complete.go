package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/meta"
)

// candidates is where completion finds live names: buckets, object names, node IDs.
type candidates interface {
	Buckets(ctx context.Context) ([]string, error)
	// Objects returns object names that start with prefix (a bounded number of them).
	Objects(ctx context.Context, bucket, prefix string) ([]string, error)
	Nodes(ctx context.Context) ([]string, error)
}

// completer computes completion candidates for a command line from the kong model: command
// names, flags, enum values, and, by a positional's or flag's `predictor` tag, buckets,
// objects, local paths, node IDs and bucket property keys.
type completer struct {
	app  *kong.Node
	live candidates
}

// wordBreaks are the characters of bash's COMP_WORDBREAKS that occur inside our arguments
// (ais://b, --prefix=p, k=v): bash splits words at them, completion joins them back.
const wordBreaks = ":="

// joinBashWords undoes bash's splitting of words at ':' and '=': a word made only of those
// characters is glued to its neighbours. It returns the joined words, the index of the word
// under the cursor among them, and how many bytes at the start of that joined word are not part
// of bash's own current word (bash replaces only its own word, so candidates lose that many).
func joinBashWords(words []string, cword int) (out []string, cur, trim int) {
	isBreak := func(w string) bool { return w != "" && strings.Trim(w, wordBreaks) == "" }
	cur = -1
	glue := false
	for i, w := range words {
		switch {
		case i > 0 && len(out) > 0 && (isBreak(w) || glue):
			out[len(out)-1] += w
		default:
			out = append(out, w)
		}
		glue = isBreak(w)
		if i == cword {
			cur = len(out) - 1
			trim = len(out[cur]) - len(w)
		}
	}
	if cur < 0 { // the cursor is past the last word
		out = append(out, "")
		cur = len(out) - 1
	}
	return out, cur, trim
}

// complete returns the candidates for words[cur] (words[0] is the program).
func (c *completer) complete(ctx context.Context, words []string, cur int) []string {
	if cur < 1 || cur >= len(words) {
		return nil
	}
	node := c.app
	positionals := 0
	var pendingFlag *kong.Flag // a flag before the cursor that takes the next word as its value
	dashdash := false
	for i := 1; i < cur; i++ {
		w := words[i]
		if pendingFlag != nil {
			pendingFlag = nil
			continue
		}
		switch {
		case w == "--" && !dashdash:
			dashdash = true
		case strings.HasPrefix(w, "-") && w != "-" && !dashdash:
			if f := findFlag(node, w); f != nil && !f.IsBool() && !f.IsCounter() && !strings.Contains(w, "=") {
				pendingFlag = f
			}
		default:
			if child := findChild(node, w); child != nil && positionals == 0 {
				node = child
				continue
			}
			positionals++
		}
	}
	word := words[cur]
	var out []string
	switch {
	case pendingFlag != nil:
		out = c.flagValues(ctx, pendingFlag, word, words)
	case strings.HasPrefix(word, "--") && strings.Contains(word, "=") && !dashdash:
		name, val, _ := strings.Cut(word, "=")
		if f := findFlag(node, name); f != nil {
			for _, v := range c.flagValues(ctx, f, val, words) {
				out = append(out, name+"="+v)
			}
		}
	case strings.HasPrefix(word, "-") && word != "-" && !dashdash:
		out = flagNames(node, word)
	case hasVisibleChildren(node) && positionals == 0:
		for _, ch := range node.Children {
			if !ch.Hidden && strings.HasPrefix(ch.Name, word) {
				out = append(out, ch.Name)
			}
		}
	default:
		if len(node.Positional) == 0 {
			return nil
		}
		i := positionals
		if i >= len(node.Positional) {
			last := node.Positional[len(node.Positional)-1]
			if !last.IsCumulative() {
				return nil
			}
			i = len(node.Positional) - 1
		}
		out = c.values(ctx, node.Positional[i], word, words)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func hasVisibleChildren(n *kong.Node) bool {
	for _, ch := range n.Children {
		if !ch.Hidden {
			return true
		}
	}
	return false
}

func findChild(n *kong.Node, w string) *kong.Node {
	for _, ch := range n.Children {
		if ch.Name == w || slices.Contains(ch.Aliases, w) {
			return ch
		}
	}
	return nil
}

// findFlag finds a flag of n or its ancestors by "--name", "--name=value" or "-s".
func findFlag(n *kong.Node, w string) *kong.Flag {
	name, _, _ := strings.Cut(w, "=")
	for _, group := range n.AllFlags(false) {
		for _, f := range group {
			switch {
			case strings.HasPrefix(name, "--") && (name[2:] == f.Name || slices.Contains(f.Aliases, name[2:])):
				return f
			case len(name) == 2 && name[0] == '-' && f.Short != 0 && rune(name[1]) == f.Short:
				return f
			}
		}
	}
	return nil
}

func flagNames(n *kong.Node, prefix string) []string {
	var out []string
	for _, group := range n.AllFlags(true) {
		for _, f := range group {
			if name := "--" + f.Name; strings.HasPrefix(name, prefix) {
				out = append(out, name)
			}
		}
	}
	return out
}

// flagValues completes the value of a flag.
func (c *completer) flagValues(ctx context.Context, f *kong.Flag, word string, words []string) []string {
	return c.values(ctx, f.Value, word, words)
}

// values completes a positional or flag value by its enum or its predictor tag.
func (c *completer) values(ctx context.Context, v *kong.Value, word string, words []string) []string {
	if v.Enum != "" {
		return withPrefix(v.EnumSlice(), word)
	}
	switch v.Tag.Get("predictor") {
	case "bucket":
		return c.buckets(ctx, word, "")
	case "object":
		return c.objects(ctx, word)
	case "path":
		return paths(word)
	case "node":
		ids, _ := c.live.Nodes(ctx)
		return withPrefix(ids, word)
	case "prop":
		return propKeys(word)
	case "lsprops":
		return commaList(append(slices.Clone(listProps), "all"), word)
	}
	return nil
}

func withPrefix(all []string, prefix string) []string {
	var out []string
	for _, s := range all {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// buckets completes ais://NAME (a bare NAME matches too) and appends suffix to each.
func (c *completer) buckets(ctx context.Context, word, suffix string) []string {
	names, err := c.live.Buckets(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		full := schemeAIS + n
		if strings.HasPrefix(full, word) || (!strings.Contains(word, ":") && strings.HasPrefix(n, word)) {
			out = append(out, full+suffix)
		}
	}
	return out
}

// objects completes ais://BUCKET/ and then object names one path level at a time, the way a
// shell completes directories.
func (c *completer) objects(ctx context.Context, word string) []string {
	rest, ok := strings.CutPrefix(word, schemeAIS)
	if !ok || !strings.Contains(rest, "/") {
		return c.buckets(ctx, word, "/")
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	names, err := c.live.Objects(ctx, bucket, prefix)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if i := strings.IndexByte(n[len(prefix):], '/'); i >= 0 {
			n = n[:len(prefix)+i+1]
		}
		out = append(out, schemeAIS+bucket+"/"+n)
	}
	return out
}

// paths completes local files and directories (directories end in '/').
func paths(word string) []string {
	dir, base := filepath.Split(word)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	if strings.HasPrefix(readDir, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			readDir = filepath.Join(home, readDir[2:])
		}
	}
	ents, err := os.ReadDir(readDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(readDir, name)); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			name += "/"
		}
		out = append(out, dir+name)
	}
	return out
}

// propKeys completes KEY= from the bucket properties, and VALUE for keys with known values.
func propKeys(word string) []string {
	props, err := flattenProps(meta.DefaultBucketProps())
	if err != nil {
		return nil
	}
	if key, val, ok := strings.Cut(word, "="); ok {
		var vals []string
		for _, p := range props {
			if p.Key != key {
				continue
			}
			switch {
			case key == "checksum.type":
				vals = []string{meta.ChecksumHighway, meta.ChecksumMD5, meta.ChecksumCRC32C, meta.ChecksumSHA256, meta.ChecksumNone}
			case p.Value == "true" || p.Value == "false":
				vals = []string{"true", "false"}
			}
		}
		var out []string
		for _, v := range withPrefix(vals, val) {
			out = append(out, key+"="+v)
		}
		return out
	}
	var out []string
	for _, p := range props {
		if strings.HasPrefix(p.Key, word) {
			out = append(out, p.Key+"=")
		}
	}
	return out
}

// commaList completes the last element of a comma-separated list.
func commaList(all []string, word string) []string {
	i := strings.LastIndexByte(word, ',')
	head, last := word[:i+1], word[i+1:]
	done := strings.Split(word[:max(i, 0)], ",")
	var out []string
	for _, s := range all {
		if strings.HasPrefix(s, last) && !slices.Contains(done, s) {
			out = append(out, head+s)
		}
	}
	return out
}
