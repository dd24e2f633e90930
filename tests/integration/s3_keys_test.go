package integration

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// testS3CLIKeys manages users and keys with the ais CLI and uses them with the S3 SDK: a new
// key works at once, listings never show a secret, a revoked key is refused at once, and bad
// input is one clear line with a failing exit status.
func testS3CLIKeys(ctx context.Context, t *testing.T, e *s3Env) {
	ais := &aisCLI{t: t, bin: filepath.Join(e.c.Bin, "ais"), binDir: e.c.Bin, endpoint: e.endpoint}

	var k meta.AccessKey
	ais.okJSON(&k, "auth", "key", "create", "carol", "--json")
	if k.User != "carol" || meta.ValidateAccessKeyID(k.ID) != nil || len(k.Secret) != meta.AccessKeySecretLen {
		t.Fatalf("ais auth key create: %+v", k)
	}
	cl := e.client(&k, nil)
	mkBucket(ctx, t, cl, "carols")
	put(ctx, t, cl, "carols", "hello", []byte("from carol"))
	// Buckets belong to their creator: alice's key is refused on carol's bucket.
	_, err := e.cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("carols"), Key: aws.String("hello")})
	wantS3Err(t, "alice reads carol's bucket", err, "AccessDenied", 403)

	env := ais.ok("auth", "key", "create", "carol", "--env")
	if !strings.HasPrefix(env, "AWS_ACCESS_KEY_ID=") || !strings.Contains(env, "\nAWS_SECRET_ACCESS_KEY=") {
		t.Fatalf("ais auth key create --env: %q", env)
	}

	var kl api.KeyList
	ais.okJSON(&kl, "auth", "key", "ls", "--user", "carol", "--json")
	if len(kl.Keys) != 2 {
		t.Fatalf("carol has %d keys listed, want 2: %+v", len(kl.Keys), kl.Keys)
	}
	for _, lk := range kl.Keys {
		if lk.Secret != "" || lk.User != "carol" {
			t.Fatalf("listed key %+v: a listing must never show a secret", lk)
		}
	}
	table := ais.ok("auth", "key", "ls")
	if !strings.Contains(table, k.ID) || strings.Contains(table, k.Secret) {
		t.Fatalf("ais auth key ls:\n%s", table)
	}
	var ul api.UserList
	ais.okJSON(&ul, "auth", "user", "ls", "--json")
	names := map[string]bool{}
	for _, u := range ul.Users {
		names[u.Name] = true
	}
	if !names["alice"] || !names["bob"] || !names["carol"] {
		t.Fatalf("users: %+v", ul.Users)
	}

	ais.ok("auth", "key", "rm", k.ID)
	_, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("carols"), Key: aws.String("hello")})
	wantS3Err(t, "revoked key", err, "InvalidAccessKeyId", 403)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"auth", "key", "rm", "not-a-key"}, "access key ID"},
		{[]string{"auth", "key", "rm", k.ID}, "does not exist"},
		{[]string{"auth", "key", "create", "bad name"}, "user name"},
		{[]string{"auth", "user", "rm", "nobody"}, "does not exist"},
	} {
		if line := ais.fails(c.args...); !strings.Contains(line, c.want) {
			t.Errorf("ais %s: %q does not say %q", strings.Join(c.args, " "), line, c.want)
		}
	}

	ais.ok("auth", "user", "rm", "carol") // revokes carol's second key too
	ais.okJSON(&kl, "auth", "key", "ls", "--user", "carol", "--json")
	if len(kl.Keys) != 0 {
		t.Fatalf("keys left after removing the user: %+v", kl.Keys)
	}
}

// testS3Metrics checks that S3 requests are counted in the gateway's metrics under their
// operation's name, with bytes and error codes, like the native API's.
func testS3Metrics(ctx context.Context, t *testing.T, e *s3Env) {
	mkBucket(ctx, t, e.cl, "metered")
	u := e.endpoint + "/v1/metrics"
	before := scrape(ctx, t, u)
	const n, size = 5, 70001
	for i := range n {
		put(ctx, t, e.cl, "metered", fmt.Sprintf("o%d", i), randBytes(uint64(i), size))
	}
	for i := range n {
		out, err := e.cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("metered"), Key: aws.String(fmt.Sprintf("o%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(out.Body); err != nil || len(b) != size {
			t.Fatalf("GET o%d: %d bytes, %v", i, len(b), err)
		}
		out.Body.Close()
	}
	_, err := e.cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("metered"), Key: aws.String("missing")})
	wantS3Err(t, "GET missing", err, "NoSuchKey", 404)
	after := scrape(ctx, t, u)
	d := func(name string, labels map[string]string) float64 {
		return sample(after, name, labels) - sample(before, name, labels)
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"PUT 200", d("ais_gw_requests_total", map[string]string{"op": "s3_put_object", "status": "200"}), n},
		{"GET 200", d("ais_gw_requests_total", map[string]string{"op": "s3_get_object", "status": "200"}), n},
		{"GET 404", d("ais_gw_requests_total", map[string]string{"op": "s3_get_object", "status": "404"}), 1},
		{"NoSuchKey", d("ais_gw_request_errors_total", map[string]string{"op": "s3_get_object", "code": "NoSuchKey"}), 1},
		{"PUT body bytes", d("ais_gw_request_body_bytes_total", map[string]string{"op": "s3_put_object"}), n * size},
		{"GET latency observations", d("ais_gw_request_duration_seconds", map[string]string{"op": "s3_get_object"}), n + 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: moved by %v, want %v", c.what, c.got, c.want)
		}
	}
	if got := d("ais_gw_response_body_bytes_total", map[string]string{"op": "s3_get_object"}); got < n*size {
		t.Errorf("GET response bytes moved by %v, want at least %d", got, n*size)
	}
}
