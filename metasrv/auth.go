package metasrv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/raftfsm"
)

// Users and access keys of the S3 API (docs/s3.md). These endpoints are on meta's control
// API, like the epoch watch that carries the secrets to gateways: only POST /v1/meta/keys
// answers with a secret, once, to the caller that made the key.

// GET /v1/meta/users.
func (s *Server) listUsers(c echo.Context) error {
	v := s.view()
	return reply(c, v.Epoch, api.UserList{Users: v.SortedUsers()})
}

// POST /v1/meta/users: add a user.
func (s *Server) createUser(c echo.Context) error {
	var req api.UserRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	if err := meta.ValidateUserName(req.Name); err != nil {
		return fmt.Errorf("metasrv: %w", err)
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpUserCreate, User: req.Name}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.User)
}

// DELETE /v1/meta/users/{name}: remove a user and its keys.
func (s *Server) deleteUser(c echo.Context) error {
	name, err := param(c, "name")
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpUserDelete, User: name}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, struct{}{})
}

// GET /v1/meta/keys[?user=NAME]: access keys without their secrets.
func (s *Server) listKeys(c echo.Context) error {
	v := s.view()
	user := c.QueryParam("user")
	keys := v.SortedAccessKeys()
	if user != "" {
		mine := keys[:0]
		for _, k := range keys {
			if k.User == user {
				mine = append(mine, k)
			}
		}
		keys = mine
	}
	return reply(c, v.Epoch, api.KeyList{Keys: keys})
}

// POST /v1/meta/keys: a new access key for a user (created if new); the answer is the only
// place its secret is shown.
func (s *Server) createKey(c echo.Context) error {
	var req api.KeyRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	if err := meta.ValidateUserName(req.User); err != nil {
		return fmt.Errorf("metasrv: %w", err)
	}
	k, err := newAccessKey(req.User)
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpKeyCreate, AccessKey: &k}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, r.Key)
}

// DELETE /v1/meta/keys/{id}.
func (s *Server) deleteKey(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	r, err := result(s.propose(raftfsm.Command{Op: raftfsm.OpKeyDelete, KeyID: id}))
	if err != nil {
		return err
	}
	return reply(c, r.Epoch, struct{}{})
}

// keyIDAlphabet is the alphabet of access key IDs.
const keyIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newAccessKey draws a key pair: "AK" and 18 characters of A-Z0-9 (rejection sampling, no
// bias), and 30 random bytes in base64 (40 characters).
func newAccessKey(user string) (meta.AccessKey, error) {
	id := []byte("AK")
	var b [1]byte
	for len(id) < meta.AccessKeyIDLen {
		if _, err := rand.Read(b[:]); err != nil {
			return meta.AccessKey{}, fmt.Errorf("metasrv: access key: no randomness: %v", err)
		}
		if int(b[0]) < 252 { // 252 = 7 * 36
			id = append(id, keyIDAlphabet[int(b[0])%len(keyIDAlphabet)])
		}
	}
	var sec [30]byte
	if _, err := rand.Read(sec[:]); err != nil {
		return meta.AccessKey{}, fmt.Errorf("metasrv: access key: no randomness: %v", err)
	}
	return meta.AccessKey{ID: string(id), Secret: base64.StdEncoding.EncodeToString(sec[:]), User: user}, nil
}
