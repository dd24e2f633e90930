package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aisfoundry/ais/meta"
)

// prop is one bucket property by its dotted key, with its value as JSON text.
type prop struct {
	Key   string
	Value string
}

// flattenProps lists the properties as dotted keys (checksum.type, mirror.copies, ...) in the
// order the wire format has them.
func flattenProps(p meta.BucketProps) ([]prop, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []prop
	if err := flattenValue(dec, "", &out); err != nil {
		return nil, fmt.Errorf("flatten bucket properties: %w", err)
	}
	return out, nil
}

// flattenValue reads one JSON value from dec; objects recurse, anything else is a leaf.
func flattenValue(dec *json.Decoder, key string, out *[]prop) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok && d == '{' {
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k := kt.(string)
			if key != "" {
				k = key + "." + k
			}
			if err := flattenValue(dec, k, out); err != nil {
				return err
			}
		}
		_, err := dec.Token() // '}'
		return err
	}
	if d, ok := tok.(json.Delim); ok && d == '[' {
		// Lists are leaves: re-encode the elements.
		var elems []string
		for dec.More() {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			elems = append(elems, string(v))
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		*out = append(*out, prop{key, "[" + strings.Join(elems, ",") + "]"})
		return nil
	}
	switch v := tok.(type) {
	case string:
		*out = append(*out, prop{key, v})
	case json.Number:
		*out = append(*out, prop{key, v.String()})
	case bool:
		*out = append(*out, prop{key, strconv.FormatBool(v)})
	case nil:
		*out = append(*out, prop{key, "null"})
	}
	return nil
}

// propsPatch turns "key=value" arguments (checksum.type=md5 mirror.copies=2 write.fsync=false)
// into a JSON merge document. Each key must be a property of current (a leaf, by its dotted
// path), and the value is typed as the current value is: booleans, integers (sizes such as
// 256KiB are accepted for keys that hold byte sizes) and strings.
func propsPatch(current meta.BucketProps, kvs []string) ([]byte, error) {
	raw, err := json.Marshal(current)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var base map[string]any
	if err := dec.Decode(&base); err != nil {
		return nil, err
	}
	patch := map[string]any{}
	for _, kv := range kvs {
		key, val, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE (e.g. checksum.type=md5)", kv)
		}
		path := strings.Split(key, ".")
		cur, err := lookupProp(base, path)
		if err != nil {
			return nil, err
		}
		typed, err := typeLike(cur, key, val)
		if err != nil {
			return nil, err
		}
		setPath(patch, path, typed)
	}
	return json.Marshal(patch)
}

// lookupProp returns the current value at a dotted path, or an error that names the keys
// that do exist.
func lookupProp(base map[string]any, path []string) (any, error) {
	key := strings.Join(path, ".")
	var node any = base
	for i, p := range path {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, unknownProp(base, key)
		}
		v, ok := m[p]
		if !ok {
			return nil, unknownProp(base, key)
		}
		if i == len(path)-1 {
			if sub, ok := v.(map[string]any); ok {
				return nil, fmt.Errorf("%q is a group of properties; set one of: %s", key,
					strings.Join(leafKeys(sub, key), ", "))
			}
		}
		node = v
	}
	return node, nil
}

func unknownProp(base map[string]any, key string) error {
	keys := leafKeys(base, "")
	msg := fmt.Sprintf("unknown bucket property %q", key)
	if best := closest(key, keys); best != "" {
		return fmt.Errorf("%s; did you mean %q?", msg, best)
	}
	return fmt.Errorf("%s; known properties: %s", msg, strings.Join(keys, ", "))
}

// leafKeys lists the dotted keys of the leaves under m, sorted.
func leafKeys(m map[string]any, prefix string) []string {
	var out []string
	for k, v := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			out = append(out, leafKeys(sub, k)...)
		} else {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// typeLike parses val as the same JSON type as cur.
func typeLike(cur any, key, val string) (any, error) {
	val = strings.TrimSpace(val)
	switch cur.(type) {
	case bool:
		switch strings.ToLower(val) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%s=%q: want true or false", key, val)
	case json.Number:
		if n, err := strconv.ParseInt(val, 10, 64); err == nil {
			return n, nil
		}
		if isSizeKey(key) {
			if n, err := parseSize(val); err == nil {
				return n, nil
			}
			return nil, fmt.Errorf("%s=%q: want a number of bytes (e.g. 262144 or 256KiB)", key, val)
		}
		if strings.Contains(cur.(json.Number).String(), ".") {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%s=%q: want an integer", key, val)
	case string:
		return val, nil
	case nil:
		// A property without a current value: pass valid JSON through, else a string.
		var v any
		if json.Unmarshal([]byte(val), &v) == nil {
			return v, nil
		}
		return val, nil
	}
	var v any
	if err := json.Unmarshal([]byte(val), &v); err != nil {
		return nil, fmt.Errorf("%s=%q: want a JSON value: %v", key, val, err)
	}
	return v, nil
}

func isSizeKey(key string) bool {
	last := key[strings.LastIndexByte(key, '.')+1:]
	return strings.Contains(last, "size") || strings.HasSuffix(last, "bytes")
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

// closest returns the candidate nearest to s by edit distance, if it is near enough to be a
// likely typo; or the one candidate whose last component equals s's.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	var match []string
	for _, c := range candidates {
		if c[strings.LastIndexByte(c, '.')+1:] == last {
			match = append(match, c)
		}
	}
	if len(match) == 1 {
		return match[0]
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// propChanges compares two property sets and lists what differs, as "key: old -> new".
func propChanges(before, after meta.BucketProps) ([]string, error) {
	a, err := flattenProps(before)
	if err != nil {
		return nil, err
	}
	b, err := flattenProps(after)
	if err != nil {
		return nil, err
	}
	old := make(map[string]string, len(a))
	for _, p := range a {
		old[p.Key] = p.Value
	}
	var out []string
	for _, p := range b {
		if o, ok := old[p.Key]; !ok || o != p.Value {
			out = append(out, fmt.Sprintf("%s: %s -> %s", p.Key, o, p.Value))
		}
	}
	return out, nil
}
