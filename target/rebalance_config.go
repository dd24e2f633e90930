package target

import (
	"fmt"
	"time"
)

// RebalanceConfig tunes how a target takes part in rebalances and resilvers
// (docs/rebalance.md). Zero fields take the defaults.
type RebalanceConfig struct {
	// Delay is how long a target waits after a placement change before it starts moving
	// objects, so that several changes in a row make one rebalance.
	Delay time.Duration
	// Workers is how many objects one target sends at once.
	Workers int
	// Grace is how long a moved object stays at its source after the destination confirmed
	// it, so that a listing page that asked the destination a moment earlier still finds it.
	Grace time.Duration
	// SettleInterval is how often a target asks the others whether their rebalance is done
	// while one may run somewhere.
	SettleInterval time.Duration
	// TombstoneTTL bounds how long a target remembers an object deleted during a rebalance.
	TombstoneTTL time.Duration
}

// DefaultRebalanceConfig returns the defaults.
func DefaultRebalanceConfig() RebalanceConfig {
	return RebalanceConfig{Delay: 500 * time.Millisecond, Workers: 8, Grace: 3 * time.Second,
		SettleInterval: 500 * time.Millisecond, TombstoneTTL: time.Hour}
}

func (c *RebalanceConfig) fill() {
	d := DefaultRebalanceConfig()
	if c.Delay == 0 {
		c.Delay = d.Delay
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.Grace == 0 {
		c.Grace = d.Grace
	}
	if c.SettleInterval == 0 {
		c.SettleInterval = d.SettleInterval
	}
	if c.TombstoneTTL == 0 {
		c.TombstoneTTL = d.TombstoneTTL
	}
}

// Validate checks the configuration.
func (c RebalanceConfig) Validate() error {
	if c.Delay < 0 || c.Workers < 0 || c.Grace < 0 || c.SettleInterval < 0 || c.TombstoneTTL < 0 {
		return fmt.Errorf("target: config: rebalance settings must not be negative")
	}
	return nil
}
