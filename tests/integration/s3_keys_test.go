package integration

import (
	"context"
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
