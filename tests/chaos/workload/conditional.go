package workload

import (
	"context"
	"net/http"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// seenValue is what one client last found under a key: the write ID and the ETag of the
// bytes it read or wrote; the zero value is "absent".
type seenValue struct {
	write string
	etag  string
}

// CAS is a conditional PUT through S3: if this client last saw key absent (or never looked),
// create it only if it is still absent (If-None-Match: *); otherwise replace it only if its
// ETag is still the one of the write the client saw (If-Match). It is recorded as cas with
// Expect, the write ID the condition names ("" for absent); 412 PreconditionFailed (and 404
// NoSuchKey for If-Match) is a Fail that the register model reads as "the object was not in
// that state". Clients of the other kinds, which have no conditional PUT, do a plain Put.
func (c *Client) CAS(ctx context.Context, key string, size int) history.Event {
	if c.s3 == nil {
		return c.Put(ctx, key, size)
	}
	last := c.seen[key]
	h := http.Header{}
	if last.write != "" && last.etag != "" {
		h.Set("If-Match", last.etag)
	} else {
		h.Set("If-None-Match", "*")
		last = seenValue{}
	}
	w := c.NextWrite()
	body := Body(key, w, size)
	c.invoke(history.Event{F: history.CAS, Key: key, Value: w, Expect: last.write})
	octx, cancel := context.WithTimeout(ctx, c.OpTimeout)
	defer cancel()
	done := history.Event{F: history.CAS, Key: key, Value: w, Type: history.OK}
	resp, err := c.s3.send(octx, http.MethodPut, c.Bucket, key, nil, h, body)
	if err != nil {
		// 412 and 404 are 4xx: Fail with their code; a timeout or a 5xx: Info.
		done.Type, done.Code, done.Error = classify(err, true)
		if done.Type == history.Fail {
			delete(c.seen, key)
		}
		return c.complete(done)
	}
	c.seen[key] = seenValue{write: w, etag: resp.Header.Get("ETag")}
	drain(resp)
	return c.complete(done)
}
