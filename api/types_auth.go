package api

import "github.com/aisfoundry/ais/meta"

// UserRequest is the body of POST /v1/meta/users.
type UserRequest struct {
	Name string `json:"name"`
}

// UserList is the answer of GET /v1/meta/users.
type UserList struct {
	Users []meta.User `json:"users"`
}

// KeyRequest is the body of POST /v1/meta/keys: a new access key for User (created if new).
type KeyRequest struct {
	User string `json:"user"`
}

// KeyList is the answer of GET /v1/meta/keys: keys without their secrets.
type KeyList struct {
	Keys []meta.AccessKey `json:"keys"`
}
