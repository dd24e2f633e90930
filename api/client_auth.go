package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/aisfoundry/ais/meta"
)

// CreateUser adds a user of the S3 API, through the gateway.
func (c *Client) CreateUser(ctx context.Context, name string) (*meta.User, error) {
	var u meta.User
	return &u, c.ep.call(ctx, http.MethodPost, "/v1/auth/users", nil, UserRequest{Name: name}, &u)
}

// ListUsers lists the users of the S3 API.
func (c *Client) ListUsers(ctx context.Context) ([]meta.User, error) {
	var ul UserList
	err := c.ep.call(ctx, http.MethodGet, "/v1/auth/users", nil, nil, &ul)
	return ul.Users, err
}

// DeleteUser removes a user and all its access keys. Its buckets stay, without an owner's key
// to reach them over S3.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.ep.call(ctx, http.MethodDelete, "/v1/auth/users/"+url.PathEscape(name), nil, nil, nil)
}

// CreateKey makes a new S3 access key for user (creating the user if it is new) and returns it
// with its secret, which no later call shows again. The key works on this gateway when the
// call returns, and on every other gateway once it holds the same epoch (normally at once).
func (c *Client) CreateKey(ctx context.Context, user string) (*meta.AccessKey, error) {
	var k meta.AccessKey
	return &k, c.ep.call(ctx, http.MethodPost, "/v1/auth/keys", nil, KeyRequest{User: user}, &k)
}

// ListKeys lists access keys without their secrets; user, if not empty, selects one user's.
func (c *Client) ListKeys(ctx context.Context, user string) ([]meta.AccessKey, error) {
	var q url.Values
	if user != "" {
		q = url.Values{"user": {user}}
	}
	var kl KeyList
	err := c.ep.call(ctx, http.MethodGet, "/v1/auth/keys", q, nil, &kl)
	return kl.Keys, err
}

// DeleteKey revokes an access key.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	return c.ep.call(ctx, http.MethodDelete, "/v1/auth/keys/"+url.PathEscape(id), nil, nil, nil)
}
