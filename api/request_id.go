package api

// QueryRequestID carries the gateway's request ID (Ais-Request-Id) in a redirect URL, so the
// target answers and logs the request under the same ID. It is not signed: it names the
// request, it grants nothing.
const QueryRequestID = "ais_request_id"

// MaxRequestIDLen bounds a request ID that a node accepts from a client or another node.
const MaxRequestIDLen = 64

// ValidRequestID reports whether id is 1-64 letters, digits, '-', '_' or '.', the form a
// request ID must have to be carried on (into headers, logs and metrics).
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
