package meta

import "sort"

// Snapshot is the published metadata at one epoch: the cluster map, the buckets and the shared
// config. A published Snapshot is immutable: holders keep it behind an atomic pointer and
// replace it wholesale.
type Snapshot struct {
	Epoch   uint64            `json:"epoch"`
	Nodes   map[string]Node   `json:"nodes"`
	Buckets map[string]Bucket `json:"buckets"` // by Bucket.Key()
	Config  ClusterConfig     `json:"config"`
	// Users and AccessKeys (by key ID, with secrets) serve the S3 API's authentication.
	Users      map[string]User      `json:"users,omitempty"`
	AccessKeys map[string]AccessKey `json:"access_keys,omitempty"`
}

// NewSnapshot returns the empty snapshot of a new cluster (epoch 0).
func NewSnapshot() *Snapshot {
	return &Snapshot{Nodes: map[string]Node{}, Buckets: map[string]Bucket{}, Config: DefaultClusterConfig()}
}

// Clone returns a deep copy, to be changed and published as the next epoch.
func (s *Snapshot) Clone() *Snapshot {
	c := &Snapshot{Epoch: s.Epoch, Config: s.Config,
		Nodes: make(map[string]Node, len(s.Nodes)), Buckets: make(map[string]Bucket, len(s.Buckets))}
	for k, n := range s.Nodes {
		c.Nodes[k] = n.Clone()
	}
	for k, b := range s.Buckets {
		c.Buckets[k] = b
	}
	if s.Users != nil {
		c.Users = make(map[string]User, len(s.Users))
		for k, u := range s.Users {
			c.Users[k] = u
		}
	}
	if s.AccessKeys != nil {
		c.AccessKeys = make(map[string]AccessKey, len(s.AccessKeys))
		for k, a := range s.AccessKeys {
			c.AccessKeys[k] = a
		}
	}
	return c
}

// Bucket returns the bucket by provider and name.
func (s *Snapshot) Bucket(p Provider, name string) (Bucket, bool) {
	b, ok := s.Buckets[BucketKey(p, name)]
	return b, ok
}

// SortedBuckets returns the buckets ordered by key.
func (s *Snapshot) SortedBuckets() []Bucket {
	out := make([]Bucket, 0, len(s.Buckets))
	for _, b := range s.Buckets {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// NodesByRole returns the nodes of one role ordered by ID.
func (s *Snapshot) NodesByRole(r Role) []Node {
	var out []Node
	for _, n := range s.Nodes {
		if n.Role == r {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ActiveTargets returns the targets that own objects at this epoch, ordered by ID.
func (s *Snapshot) ActiveTargets() []Node {
	var out []Node
	for _, n := range s.Nodes {
		if n.Role == RoleTarget && n.State == NodeActive {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Public returns a copy safe to show to clients: secrets removed.
func (s *Snapshot) Public() *Snapshot {
	c := s.Clone()
	c.Config.SigningKey = ""
	for id, k := range c.AccessKeys {
		k.Secret = ""
		c.AccessKeys[id] = k
	}
	return c
}
