package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/aisfoundry/ais/meta"
)

// CreateUser adds a user of the S3 API.
func (c *MetaClient) CreateUser(ctx context.Context, name string) (*meta.User, error) {
	var u meta.User
	return &u, c.ep.call(ctx, http.MethodPost, "/v1/meta/users", nil, UserRequest{Name: name}, &u)
}

// DeleteUser removes a user and its access keys. It returns the epoch without them.
func (c *MetaClient) DeleteUser(ctx context.Context, name string) (uint64, error) {
	return c.ep.callEpoch(ctx, http.MethodDelete, "/v1/meta/users/"+url.PathEscape(name), nil, nil, nil)
}

// ListUsers lists the users.
func (c *MetaClient) ListUsers(ctx context.Context) ([]meta.User, error) {
	var ul UserList
	err := c.ep.call(ctx, http.MethodGet, "/v1/meta/users", linearizable(nil), nil, &ul)
	return ul.Users, err
}

// CreateKey makes a new access key for user (creating the user if it is new) and returns it
// with its secret, which no other call shows again. It also returns the epoch that holds it.
func (c *MetaClient) CreateKey(ctx context.Context, user string) (*meta.AccessKey, uint64, error) {
	var k meta.AccessKey
	epoch, err := c.ep.callEpoch(ctx, http.MethodPost, "/v1/meta/keys", nil, KeyRequest{User: user}, &k)
	return &k, epoch, err
}

// ListKeys lists the access keys (without secrets); user, if not empty, selects one user's.
func (c *MetaClient) ListKeys(ctx context.Context, user string) ([]meta.AccessKey, error) {
	var q url.Values
	if user != "" {
		q = url.Values{"user": {user}}
	}
	var kl KeyList
	err := c.ep.call(ctx, http.MethodGet, "/v1/meta/keys", linearizable(q), nil, &kl)
	return kl.Keys, err
}

// DeleteKey removes an access key. It returns the epoch without it.
func (c *MetaClient) DeleteKey(ctx context.Context, id string) (uint64, error) {
	return c.ep.callEpoch(ctx, http.MethodDelete, "/v1/meta/keys/"+url.PathEscape(id), nil, nil, nil)
}

// CreateBucketAs creates an ais:// bucket owned by a user of the S3 API (owner may be empty:
// no owner). props is an optional JSON merge document. It returns the bucket and the epoch
// that holds it.
func (c *MetaClient) CreateBucketAs(ctx context.Context, name, owner string, props []byte) (*meta.Bucket, uint64, error) {
	var in any
	if len(props) > 0 {
		in = props
	}
	var q url.Values
	if owner != "" {
		q = url.Values{"owner": {owner}}
	}
	var b meta.Bucket
	epoch, err := c.ep.callEpoch(ctx, http.MethodPut, "/v1/buckets/"+url.PathEscape(name), q, in, &b)
	return &b, epoch, err
}
