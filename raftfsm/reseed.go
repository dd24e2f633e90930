package raftfsm

import "fmt"

// Reseed returns an encoded state (EncodeSnapshot's output, as a backup holds it) with the
// published epoch raised to epoch, for seeding a new quorum from a backup: nodes that hold a
// later epoch of the old quorum then take the restored state as news. Nothing else changes.
func Reseed(data []byte, epoch uint64) ([]byte, error) {
	m, err := Restore(data)
	if err != nil {
		return nil, err
	}
	if epoch < m.view.Epoch {
		return nil, fmt.Errorf("raftfsm: reseed: epoch %d is below the state's epoch %d", epoch, m.view.Epoch)
	}
	if epoch > m.view.Epoch {
		v := m.view.Clone()
		v.Epoch = epoch
		m.view = v
	}
	return m.EncodeSnapshot(), nil
}
