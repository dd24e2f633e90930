package api

import (
	"net/url"
	"strings"
)

// QueryValue is url.ParseQuery(rawQuery).Get(key) without building the map: the first value
// of key, unescaped, or "" (malformed pairs are skipped, as URL.Query skips them). Handlers
// that need one parameter on the data path use it instead of parsing the whole query again.
func QueryValue(rawQuery, key string) string {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			var err error
			if v, err = url.QueryUnescape(v); err != nil {
				continue
			}
		}
		return v
	}
	return ""
}
