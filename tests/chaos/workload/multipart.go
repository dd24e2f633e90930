package workload

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// mpuPartSize is the size of every part but the last: S3's minimum.
const mpuPartSize = 5 << 20

// PutMultipart writes a new body under key with an S3 multipart upload (CreateMultipartUpload,
// UploadPart per part, CompleteMultipartUpload), recorded as one put of the final object:
// nothing is visible before the completion, so a failure before it is Fail, and the
// completion's failure is classified like a PUT's. Parts are mpuPartSize but the last, so
// size decides their number. Clients of the other kinds do a plain Put.
func (c *Client) PutMultipart(ctx context.Context, key string, size int) history.Event {
	if c.s3 == nil {
		return c.Put(ctx, key, size)
	}
	w := c.NextWrite()
	body := Body(key, w, size)
	c.invoke(history.Event{F: history.Put, Key: key, Value: w})
	octx, cancel := context.WithTimeout(ctx, 3*c.OpTimeout)
	defer cancel()
	done := history.Event{F: history.Put, Key: key, Value: w, Type: history.OK}
	etag, err := c.s3.multipart(octx, c.Bucket, key, body)
	done.Parts = (len(body) + mpuPartSize - 1) / mpuPartSize
	switch {
	case err == nil:
		c.seen[key] = seenValue{write: w, etag: etag}
	case errors.As(err, new(*mpuStepError)):
		done.Type, done.Code, done.Error = history.Fail, "Multipart", err.Error()
		delete(c.seen, key)
	default:
		done.Type, done.Code, done.Error = classify(err, true)
		delete(c.seen, key)
	}
	return c.complete(done)
}

// mpuStepError is the failure of a step before the completion: the object did not change.
type mpuStepError struct {
	step string
	err  error
}

func (e *mpuStepError) Error() string { return fmt.Sprintf("multipart %s: %v", e.step, e.err) }

func (e *mpuStepError) Unwrap() error { return e.err }

type mpuCreated struct {
	UploadID string `xml:"UploadId"`
}

type mpuPart struct {
	Number int    `xml:"PartNumber"`
	ETag   string `xml:"ETag"`
}

type mpuComplete struct {
	XMLName xml.Name  `xml:"CompleteMultipartUpload"`
	Parts   []mpuPart `xml:"Part"`
}

type mpuCompleted struct {
	XMLName xml.Name
	ETag    string `xml:"ETag"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// multipart uploads body under key in parts and returns the object's ETag.
func (s *s3proto) multipart(ctx context.Context, bucket, key string, body []byte) (string, error) {
	resp, err := s.send(ctx, http.MethodPost, bucket, key, url.Values{"uploads": {""}}, nil, nil)
	if err != nil {
		return "", &mpuStepError{"create", err}
	}
	var created mpuCreated
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		err = xml.Unmarshal(raw, &created)
	}
	if err != nil || created.UploadID == "" {
		return "", &mpuStepError{"create", fmt.Errorf("answer %q: %v", raw, err)}
	}
	var doc mpuComplete
	for n, off := 1, 0; off < len(body); n++ {
		end := min(off+mpuPartSize, len(body))
		q := url.Values{"uploadId": {created.UploadID}, "partNumber": {strconv.Itoa(n)}}
		resp, err := s.send(ctx, http.MethodPut, bucket, key, q, nil, body[off:end])
		if err != nil {
			return "", &mpuStepError{"upload part " + strconv.Itoa(n), err}
		}
		doc.Parts = append(doc.Parts, mpuPart{Number: n, ETag: resp.Header.Get("ETag")})
		drain(resp)
		off = end
	}
	xb, _ := xml.Marshal(doc)
	resp, err = s.send(ctx, http.MethodPost, bucket, key, url.Values{"uploadId": {created.UploadID}}, nil, xb)
	if err != nil {
		return "", err
	}
	raw, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", &hopError{toTarget: true, err: fmt.Errorf("read CompleteMultipartUpload answer: %w", err)}
	}
	// S3 may answer 200 and report an error in the body.
	var res mpuCompleted
	if err := xml.Unmarshal(raw, &res); err != nil || res.XMLName.Local == "Error" {
		return "", &s3Error{Status: http.StatusInternalServerError, Code: res.Code,
			Message: strings.TrimSpace(res.Message + " " + fmt.Sprint(err))}
	}
	return res.ETag, nil
}
