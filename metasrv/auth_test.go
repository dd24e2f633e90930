package metasrv

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aisfoundry/ais/meta"
)

func TestUsersAndKeys(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	ctx := ctxT(t)
	k, epoch, err := tc.client.CreateKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Validate(); err != nil || k.User != "alice" || epoch == 0 {
		t.Fatalf("new key %+v at epoch %d: %v", k, epoch, err)
	}
	k2, _, err := tc.client.CreateKey(ctx, "alice")
	if err != nil || k2.ID == k.ID || k2.Secret == k.Secret {
		t.Fatalf("second key %+v, %v", k2, err)
	}
	if _, err := tc.client.CreateUser(ctx, "alice"); !errors.Is(err, meta.ErrUserExists) {
		t.Fatalf("create existing user: %v", err)
	}
	if _, err := tc.client.CreateUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tc.client.CreateKey(ctx, "bad name"); err == nil {
		t.Fatal("key for an invalid user name")
	}
	users, err := tc.client.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
		t.Fatalf("users %+v, %v", users, err)
	}
	keys, err := tc.client.ListKeys(ctx, "alice")
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	for _, kk := range keys {
		if kk.Secret != "" {
			t.Fatalf("listing shows a secret: %+v", kk)
		}
	}
	// The full snapshot (for gateways) carries the secret; the public one does not.
	snap, err := tc.client.LatestSnapshot(ctx)
	if err != nil || snap.AccessKeys[k.ID].Secret != k.Secret || snap.Public().AccessKeys[k.ID].Secret != "" {
		t.Fatalf("snapshot keys %+v, %v", snap.AccessKeys, err)
	}
	// A bucket with an owner.
	st, _, body := do(t, http.MethodPut, tc.ms[0].url+"/v1/buckets/owned?owner=alice", "")
	if st != http.StatusOK || !strings.Contains(string(body), `"owner":"alice"`) {
		t.Fatalf("create owned bucket: %d %s", st, body)
	}
	if st, _, body := do(t, http.MethodPut, tc.ms[0].url+"/v1/buckets/owned2?owner=bad%20name", ""); st != http.StatusBadRequest {
		t.Fatalf("invalid owner: %d %s", st, body)
	}
	if _, err := tc.client.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.client.DeleteKey(ctx, k.ID); !errors.Is(err, meta.ErrAccessKeyNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := tc.client.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if keys, err := tc.client.ListKeys(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("keys after deleting their user: %+v, %v", keys, err)
	}
	if _, err := tc.client.DeleteUser(ctx, "alice"); !errors.Is(err, meta.ErrUserNotFound) {
		t.Fatalf("delete user twice: %v", err)
	}
}
