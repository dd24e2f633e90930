package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// opError is an error of an operation on a bucket, an object or a node; it carries what the
// operation was about so that the message can name it.
type opError struct {
	addr   uri    // the bucket, or the object when object is set
	object bool   // addr names an object
	node   string // a node ID, for cluster commands
	err    error
}

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// bucketErr ties err to a bucket; nil stays nil.
func bucketErr(u uri, err error) error {
	if err == nil {
		return nil
	}
	u.Object, u.HasSlash = "", false
	return &opError{addr: u, err: err}
}

// objectErr ties err to an object; nil stays nil.
func objectErr(u uri, err error) error {
	if err == nil {
		return nil
	}
	return &opError{addr: u, object: true, err: err}
}

// nodeErr ties err to a node; nil stays nil.
func nodeErr(id string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{node: id, err: err}
}

// errChecksum is a download whose bytes do not match the checksum the cluster sent.
var errChecksum = errors.New("checksum mismatch")

// explain turns an error into the one line the user reads: what went wrong and what to try.
func explain(err error, endpoint string, reach *reachability) string {
	if derr := reach.unreachable(); derr != nil {
		return fmt.Sprintf("cannot reach the gateway at %s (%s); start the cluster, or point ais at a gateway with --endpoint URL or AIS_ENDPOINT",
			endpoint, dialReason(derr))
	}
	var oe *opError
	errors.As(err, &oe)
	var bucket, object, node, ls string
	if oe != nil {
		bucket = oe.addr.BucketString()
		object = oe.addr.String()
		node = oe.node
		ls = fmt.Sprintf(`"ais ls %s"`, bucket)
	}
	server := serverMessage(err)
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, errChecksum):
		return oneLine(err.Error())
	case errors.Is(err, meta.ErrBucketNotFound) && oe != nil && oe.addr.Bucket != "":
		return fmt.Sprintf(`bucket %q does not exist; list buckets with "ais ls"`, bucket)
	case errors.Is(err, meta.ErrBucketExists) && oe != nil:
		return fmt.Sprintf(`bucket %q already exists; list its objects with %s`, bucket, ls)
	case errors.Is(err, meta.ErrObjectNotFound) && oe != nil && oe.object:
		return fmt.Sprintf(`object %q does not exist; list objects with %s`, object, ls)
	case errors.Is(err, meta.ErrInvalidBucketProps) && oe != nil:
		return fmt.Sprintf(`%s; see the properties with "ais bucket props show %s"`, server, bucket)
	case errors.Is(err, meta.ErrNodeNotFound) && node != "":
		return fmt.Sprintf(`node %q does not exist; list nodes with "ais show cluster"`, node)
	case errors.Is(err, meta.ErrRangeNotSatisfiable) && oe != nil:
		return fmt.Sprintf(`the range is outside object %q; see its size with "ais object show %s"`, object, object)
	case errors.Is(err, meta.ErrBadDigest):
		what := "the upload"
		if oe != nil && oe.object {
			what = fmt.Sprintf("the upload of %q", object)
		}
		return fmt.Sprintf("the cluster received different bytes than ais sent in %s (checksum mismatch); try again", what)
	case errors.Is(err, meta.ErrCorrupt):
		what := "stored data is damaged"
		if oe != nil && oe.object {
			what = fmt.Sprintf("object %q is damaged on the cluster", object)
		}
		return fmt.Sprintf("%s (%s); the cluster repairs damaged objects from mirror copies or EC slices when it can, try again later", what, server)
	case errors.Is(err, meta.ErrNoTargets):
		return `the cluster has no active targets to store data; see "ais show cluster"`
	case errors.Is(err, api.ErrRouteNotFound):
		return fmt.Sprintf("the gateway at %s does not know this request (%s); is it older than this ais?", endpoint, server)
	case errors.Is(err, meta.ErrPermission):
		return fmt.Sprintf("access denied: %s", server)
	case errors.Is(err, meta.ErrUnavailable), errors.Is(err, meta.ErrNotLeader), errors.Is(err, meta.ErrStaleEpoch):
		var we *api.Error
		if !errors.As(err, &we) {
			return fmt.Sprintf(`lost the connection to the cluster (%s); check it with "ais show cluster" and try again`, oneLine(err.Error()))
		}
		return fmt.Sprintf(`the cluster is busy or changing (%s); try again shortly, "ais show cluster" shows its state`, server)
	}
	return oneLine(server)
}

// serverMessage is the message of the wire error in err's chain if there is one (it already
// says what failed, without the client's wrapping), else err's text.
func serverMessage(err error) string {
	var we *api.Error
	if errors.As(err, &we) && we.Message != "" {
		return oneLine(we.Message)
	}
	return oneLine(err.Error())
}

// dialReason is the short cause of a connection failure: "connection refused", "no such host".
func dialReason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return "cannot resolve " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Timeout() {
		return "connection timed out"
	}
	return oneLine(err.Error())
}

// oneLine joins the lines of a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
