package raftfsm

import (
	"github.com/aisfoundry/ais/meta"
)

// userCreate adds a user.
func (m *Machine) userCreate(c Command) Result {
	if err := meta.ValidateUserName(c.User); err != nil {
		return failed("raftfsm: create user: %w", err)
	}
	if _, ok := m.view.Users[c.User]; ok {
		return failed("raftfsm: create user %s: %w", c.User, meta.ErrUserExists)
	}
	u := meta.User{Name: c.User, Created: c.Time}
	m.change(func(s *meta.Snapshot) {
		if s.Users == nil {
			s.Users = map[string]meta.User{}
		}
		s.Users[u.Name] = u
	})
	return Result{Changed: true, User: &u}
}

// userDelete removes a user and every access key it holds. The buckets it owns keep their
// owner's name: a user created again under that name owns them again.
func (m *Machine) userDelete(c Command) Result {
	u, ok := m.view.Users[c.User]
	if !ok {
		return failed("raftfsm: delete user %q: %w", c.User, meta.ErrUserNotFound)
	}
	m.change(func(s *meta.Snapshot) {
		delete(s.Users, u.Name)
		for id, k := range s.AccessKeys {
			if k.User == u.Name {
				delete(s.AccessKeys, id)
			}
		}
	})
	return Result{Changed: true, User: &u}
}

// keyCreate adds an access key (drawn by the proposer) to a user, creating the user if it is
// new.
func (m *Machine) keyCreate(c Command) Result {
	if c.AccessKey == nil {
		return failed("raftfsm: create access key: %w: access_key is required", meta.ErrInvalidRequest)
	}
	k := *c.AccessKey
	k.Created = c.Time
	if err := k.Validate(); err != nil {
		return failed("raftfsm: create access key: %w", err)
	}
	if _, ok := m.view.AccessKeys[k.ID]; ok {
		return failed("raftfsm: create access key %s: %w", k.ID, meta.ErrAccessKeyExists)
	}
	u, known := m.view.Users[k.User]
	if !known {
		u = meta.User{Name: k.User, Created: c.Time}
	}
	m.change(func(s *meta.Snapshot) {
		if s.Users == nil {
			s.Users = map[string]meta.User{}
		}
		if s.AccessKeys == nil {
			s.AccessKeys = map[string]meta.AccessKey{}
		}
		s.Users[u.Name] = u
		s.AccessKeys[k.ID] = k
	})
	return Result{Changed: true, User: &u, Key: &k}
}

// keyDelete removes an access key.
func (m *Machine) keyDelete(c Command) Result {
	k, ok := m.view.AccessKeys[c.KeyID]
	if !ok {
		return failed("raftfsm: delete access key %q: %w", c.KeyID, meta.ErrAccessKeyNotFound)
	}
	m.change(func(s *meta.Snapshot) { delete(s.AccessKeys, k.ID) })
	k.Secret = ""
	return Result{Changed: true, User: nil, Key: &k}
}
