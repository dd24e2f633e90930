package meta

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxObjectNameLen is the longest object name in bytes, as in S3.
const MaxObjectNameLen = 1024

// MaxNameComponentLen is the longest path component a file system takes; longer components
// are stored under a hashed file name.
const MaxNameComponentLen = 255

// ValidateObjectName checks an object name once, at the edge. A valid name is valid UTF-8, 1 to
// 1024 bytes, has no NUL, does not start with '/', and has no "." or ".." component and no
// empty component (so it maps to exactly one relative path).
func ValidateObjectName(name string) error {
	bad := func(rule string) error {
		shown := name
		if len(shown) > 64 {
			shown = shown[:64] + "..."
		}
		return fmt.Errorf("%w: %q: %s", ErrInvalidObjectName, shown, rule)
	}
	switch {
	case name == "":
		return bad("must not be empty")
	case len(name) > MaxObjectNameLen:
		return bad(fmt.Sprintf("is %d bytes long; the limit is %d", len(name), MaxObjectNameLen))
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case strings.IndexByte(name, 0) >= 0:
		return bad("must not contain NUL")
	case name[0] == '/':
		return bad("must not start with '/'")
	}
	for comp := range strings.SplitSeq(name, "/") {
		switch comp {
		case "..":
			return bad(`must not contain a ".." component`)
		case ".":
			return bad(`must not contain a "." component`)
		case "":
			return bad("must not contain an empty component (\"//\" or a trailing '/')")
		}
	}
	return nil
}
