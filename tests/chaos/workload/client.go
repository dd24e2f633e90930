package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Kinds of clients (Event.API).
const (
	// Native speaks the native protocol itself, hop by hop (gateway, then target), without
	// retries: a failure says exactly whether a write can have happened.
	Native = "native"
	// GoClient goes through the product's Go client (api.Client) with its retries and any
	// caching it does. A failed write through it is always of unknown outcome, and so is a
	// delete answered 404 (an earlier hidden attempt may have deleted the object).
	GoClient = "go-client"
	// S3 speaks the S3 API (SigV4) to the gateway, which proxies to the target: one request
	// per operation. S3's DELETE answers 204 whether or not the object existed, so a delete
	// through it says nothing about the object's state before (Event.Blind).
	S3 = "s3"
)

// S3Key is an access key for S3 clients.
type S3Key struct{ ID, Secret string }

// Client is one process of the history: it runs one operation at a time through one gateway
// and records each as an invocation and a completion.
type Client struct {
	Name    string
	Gateway string
	Bucket  string
	Kind    string // Native or GoClient
	// OpTimeout bounds one operation; a write that times out is Info (its outcome is unknown).
	OpTimeout time.Duration

	rec *history.Recorder
	obj *native     // Native object operations, hop by hop
	api *api.Client // listings, and GoClient object operations
	gc  *api.Client // GoClient: the product client with its defaults
	s3  *s3proto    // S3
	tap *epochTap
	seq int
	own []string // keys this client created (durability workload)
	// seen is, per key, what this client's last read or write of it found (S3: the ETag a
	// conditional write names).
	seen map[string]seenValue
}

// NewClient returns a client of kind (Native, GoClient or S3, which needs key) of the gateway.
func NewClient(name, kind, gateway, bucket string, rec *history.Recorder, key *S3Key) (*Client, error) {
	if kind != Native && kind != GoClient && !(kind == S3 && key != nil) {
		return nil, fmt.Errorf("workload: client kind %q (S3 needs a key)", kind)
	}
	hc, tap := newHTTPClient(rec.Now)
	c, err := api.NewClient(gateway, hc)
	if err != nil {
		return nil, err
	}
	c.MaxAttempts = 1
	gc, err := api.NewClient(gateway, hc)
	if err != nil {
		return nil, err
	}
	cl := &Client{Name: name, Kind: kind, Gateway: gateway, Bucket: bucket, OpTimeout: 5 * time.Second,
		rec: rec, obj: &native{hc: hc, base: c.Endpoint()}, api: c, gc: gc, tap: tap, seen: map[string]seenValue{}}
	if kind == S3 {
		if cl.s3, err = newS3(hc, c.Endpoint(), key.ID, key.Secret); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

func (c *Client) invoke(e history.Event) {
	e.Process, e.Type, e.Gateway, e.API = c.Name, history.Invoke, c.Gateway, c.Kind
	c.tap.take()
	c.rec.Add(e)
}

func (c *Client) complete(e history.Event) history.Event {
	e.Process, e.Gateway, e.API = c.Name, c.Gateway, c.Kind
	e.Epochs = c.tap.take()
	return c.rec.Add(e)
}

// NextWrite returns a write ID unique in the run.
func (c *Client) NextWrite() string {
	c.seq++
	return fmt.Sprintf("%s-%d", c.Name, c.seq)
}

// Put writes a new, self-describing body of size bytes under key.
func (c *Client) Put(ctx context.Context, key string, size int) history.Event {
	w := c.NextWrite()
	body := Body(key, w, size)
	c.invoke(history.Event{F: history.Put, Key: key, Value: w})
	octx, cancel := context.WithTimeout(ctx, c.OpTimeout)
	defer cancel()
	done := history.Event{F: history.Put, Key: key, Value: w, Type: history.OK}
	if c.Kind == GoClient {
		if _, err := c.gc.PutObject(octx, c.Bucket, key, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			_, done.Code, done.Error = classify(err, true)
			done.Type = history.Info
		}
		return c.complete(done)
	}
	resp, err := c.objects().do(octx, http.MethodPut, c.Bucket, key, body)
	if err != nil {
		done.Type, done.Code, done.Error = classify(err, true)
		delete(c.seen, key)
	} else {
		c.seen[key] = seenValue{write: w, etag: resp.Header.Get("ETag")}
		drain(resp)
	}
	return c.complete(done)
}

// Get reads key and checks that its bytes are an intact write of key.
func (c *Client) Get(ctx context.Context, key string) history.Event {
	c.invoke(history.Event{F: history.Get, Key: key})
	octx, cancel := context.WithTimeout(ctx, c.OpTimeout)
	defer cancel()
	done := history.Event{F: history.Get, Key: key, Type: history.OK}
	var body io.ReadCloser
	var err error
	var etag string
	if c.Kind == GoClient {
		body, _, err = c.gc.GetObject(octx, c.Bucket, key, nil)
	} else {
		var resp *http.Response
		if resp, err = c.objects().do(octx, http.MethodGet, c.Bucket, key, nil); err == nil {
			body = resp.Body
			etag = resp.Header.Get("ETag")
		}
	}
	if err == nil {
		var data []byte
		data, err = io.ReadAll(body)
		body.Close()
		if err == nil {
			w, derr := Decode(key, data)
			done.Value = w
			if derr != nil {
				done.Bad = derr.Error()
			} else {
				c.seen[key] = seenValue{write: w, etag: etag}
			}
			return c.complete(done)
		}
		err = fmt.Errorf("read body: %w", err) // cut short: no answer, not wrong bytes
	}
	if notFound(err) {
		done.Absent = true
		c.seen[key] = seenValue{}
		return c.complete(done)
	}
	done.Type, done.Code, done.Error = classify(err, false)
	return c.complete(done)
}

// Delete removes key.
func (c *Client) Delete(ctx context.Context, key string) history.Event {
	c.invoke(history.Event{F: history.Delete, Key: key})
	octx, cancel := context.WithTimeout(ctx, c.OpTimeout)
	defer cancel()
	done := history.Event{F: history.Delete, Key: key, Type: history.OK}
	if c.Kind == GoClient {
		if err := c.gc.DeleteObject(octx, c.Bucket, key); err != nil {
			_, done.Code, done.Error = classify(err, true)
			done.Type = history.Info
		}
		return c.complete(done)
	}
	resp, err := c.objects().do(octx, http.MethodDelete, c.Bucket, key, nil)
	switch {
	case err == nil:
		drain(resp)
		done.Blind = c.Kind == S3
	case notFound(err):
		done.Absent = true
	default:
		done.Type, done.Code, done.Error = classify(err, true)
	}
	return c.complete(done)
}

// List lists the names under prefix (all pages).
func (c *Client) List(ctx context.Context, prefix string) history.Event {
	c.invoke(history.Event{F: history.List, Prefix: prefix})
	octx, cancel := context.WithTimeout(ctx, 2*c.OpTimeout)
	defer cancel()
	done := history.Event{F: history.List, Prefix: prefix, Type: history.OK}
	var err error
	if c.s3 != nil {
		done.Keys, err = c.s3.list(octx, c.Bucket, prefix, s3ListPage)
	} else {
		var entries []api.ObjectEntry
		entries, err = c.api.ListAllObjects(octx, c.Bucket, api.ListOptions{Prefix: prefix})
		done.Keys = make([]string, 0, len(entries))
		for _, e := range entries {
			done.Keys = append(done.Keys, e.Name)
		}
	}
	if err != nil {
		done.Keys = nil
		done.Type, done.Code, done.Error = classify(err, false)
	}
	return c.complete(done)
}

// classify turns an error into a completion type. A read that failed had no effect (Fail).
// A write failed for sure when a node refused it with a 4xx answer, or when no connection to
// the target could be made (nothing was sent), or when the gateway hop failed (a redirecting
// gateway changes nothing), or when the target answered 503 StaleView (it refuses, before
// touching anything, while it has not heard from meta recently: docs/rebalance.md); otherwise
// (timeout, lost connection or another 5xx from the target) it may have taken effect (Info).
func classify(err error, write bool) (typ, code, msg string) {
	msg = err.Error()
	var ae *api.Error
	var se *s3Error
	var he *hopError
	switch {
	case errors.As(err, &ae):
		code = ae.Code
		if !write || ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout || ae.Code == "StaleView" {
			return history.Fail, code, msg
		}
		return history.Info, code, msg
	case errors.As(err, &se):
		code = se.Code
		if !write || se.Status >= 400 && se.Status < 500 && se.Status != http.StatusRequestTimeout {
			return history.Fail, code, msg
		}
		return history.Info, code, msg
	case errors.Is(err, context.DeadlineExceeded):
		code = "Timeout"
	case errors.Is(err, context.Canceled):
		code = "Canceled"
	case errors.As(err, &he):
		code = "Connection"
		if he.dial || !he.toTarget {
			return history.Fail, code, msg
		}
	default:
		code = "Connection"
	}
	if write {
		return history.Info, code, msg
	}
	return history.Fail, code, msg
}

func (c *Client) ownKeys() []string { return c.own }

func (c *Client) addOwnKey(k string) { c.own = append(c.own, k) }

// objectProto is one way of sending an object request.
type objectProto interface {
	do(ctx context.Context, method, bucket, key string, body []byte) (*http.Response, error)
}

func (c *Client) objects() objectProto {
	if c.s3 != nil {
		return c.s3
	}
	return c.obj
}

// notFound reports an answer that the object does not exist.
func notFound(err error) bool {
	var ae *api.Error
	var se *s3Error
	return errors.As(err, &ae) && ae.Code == "ObjectNotFound" || errors.As(err, &se) && se.Code == "NoSuchKey"
}
