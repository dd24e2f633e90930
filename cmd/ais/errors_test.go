package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/aisfoundry/ais/api"
)

func TestExplain(t *testing.T) {
	wire := func(code, msg string, status int) error {
		return fmt.Errorf("api: get b/o: %w", &api.Error{Code: code, Message: msg, Status: status})
	}
	bucket := uri{Provider: "ais", Bucket: "xyz"}
	object := uri{Provider: "ais", Bucket: "xyz", Object: "dir/o", HasSlash: true}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name  string
		err   error
		reach *reachability
		want  string
	}{
		{"missing bucket", bucketErr(bucket, wire("BucketNotFound", `bucket "ais://xyz" does not exist`, 404)), nil,
			`bucket "ais://xyz" does not exist; list buckets with "ais ls"`},
		{"missing bucket named by an object", objectErr(object, wire("BucketNotFound", "x", 404)), nil,
			`bucket "ais://xyz" does not exist; list buckets with "ais ls"`},
		{"missing object", objectErr(object, wire("ObjectNotFound", "x", 404)), nil,
			`object "ais://xyz/dir/o" does not exist; list objects with "ais ls ais://xyz"`},
		{"bucket exists", bucketErr(bucket, wire("BucketAlreadyExists", "x", 409)), nil,
			`bucket "ais://xyz" already exists; list its objects with "ais ls ais://xyz"`},
		{"bad props", bucketErr(bucket, wire("InvalidBucketProps", "invalid bucket properties: mirror.copies 0: must be 1 (off) to 32", 400)), nil,
			`invalid bucket properties: mirror.copies 0: must be 1 (off) to 32; see the properties with "ais bucket props show ais://xyz"`},
		{"missing node", nodeErr("t9", wire("NodeNotFound", "x", 404)), nil,
			`node "t9" does not exist; list nodes with "ais show cluster"`},
		{"range", objectErr(object, wire("InvalidRange", "x", 416)), nil,
			`the range is outside object "ais://xyz/dir/o"; see its size with "ais object show ais://xyz/dir/o"`},
		{"no targets", wire("NoTargets", "x", 503), nil,
			`the cluster has no active targets to store data; see "ais show cluster"`},
		{"busy cluster", wire("Unavailable", "no leader", 503), nil,
			`the cluster is busy or changing (no leader); try again shortly, "ais show cluster" shows its state`},
		{"old gateway", wire("NotFound", "no such API endpoint: POST /v1/cluster/nodes/t1/state", 404), nil,
			`the gateway at http://gw:8080 does not know this request (no such API endpoint: POST /v1/cluster/nodes/t1/state); is it older than this ais?`},
		{"unreachable", errors.New("whatever the client said"), &reachability{err: refused},
			`cannot reach the gateway at http://gw:8080 (connection refused); start the cluster, or point ais at a gateway with --endpoint URL or AIS_ENDPOINT`},
		{"unknown host", errors.New("x"), &reachability{err: &net.DNSError{Name: "nohost", IsNotFound: true}},
			`cannot reach the gateway at http://gw:8080 (no such host nohost); start the cluster, or point ais at a gateway with --endpoint URL or AIS_ENDPOINT`},
		{"other error, one line", errors.New("first\nsecond"), nil, "first second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := explain(tt.err, "http://gw:8080", tt.reach); got != tt.want {
				t.Errorf("explain:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
