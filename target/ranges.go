package target

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aisfoundry/ais/meta"
)

// parseRange applies a Range header to an object of size bytes with S3's rules and returns the
// bytes to send: [off, off+n). partial is false when the whole object goes out with 200.
//
//   - No header, another unit, a malformed or a multi-range header: the whole object (S3
//     ignores what it does not support).
//   - bytes=a-b with b >= a: a to min(b, size-1); bytes=a-: a to the end; bytes=-n: the last n
//     bytes (all of them if n > size).
//   - Unsatisfiable (a >= size, bytes=-0, any range of an empty object): meta.ErrRangeNotSatisfiable.
func parseRange(h string, size int64) (off, n int64, partial bool, err error) {
	whole := func() (int64, int64, bool, error) { return 0, size, false, nil }
	unsatisfiable := func() (int64, int64, bool, error) {
		return 0, 0, false, fmt.Errorf("%w: %q of an object of %d bytes", meta.ErrRangeNotSatisfiable, h, size)
	}
	h = strings.TrimSpace(h)
	if len(h) < 6 || !strings.EqualFold(h[:6], "bytes=") {
		return whole()
	}
	spec := strings.TrimSpace(h[6:])
	first, last, ok := strings.Cut(spec, "-")
	if !ok || strings.Contains(spec, ",") {
		return whole()
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" { // suffix range: the last n bytes
		k, perr := parseBytePos(last)
		if perr != nil && !errors.Is(perr, strconv.ErrRange) {
			return whole()
		}
		if perr != nil {
			k = math.MaxInt64
		}
		if k == 0 || size == 0 {
			return unsatisfiable()
		}
		k = min(k, size)
		return size - k, k, true, nil
	}
	a, perr := parseBytePos(first)
	if perr != nil && !errors.Is(perr, strconv.ErrRange) {
		return whole()
	}
	b := int64(math.MaxInt64)
	if last != "" {
		var lerr error
		if b, lerr = parseBytePos(last); lerr != nil && !errors.Is(lerr, strconv.ErrRange) {
			return whole()
		}
		if lerr != nil {
			b = math.MaxInt64
		}
		if perr == nil && b < a {
			return whole() // syntactically invalid: ignored
		}
	}
	if perr != nil || a >= size {
		return unsatisfiable()
	}
	b = min(b, size-1)
	return a, b - a + 1, true, nil
}

// parseBytePos parses a non-empty run of ASCII digits.
func parseBytePos(s string) (int64, error) {
	if s == "" {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err.(*strconv.NumError).Err
	}
	return v, nil
}
