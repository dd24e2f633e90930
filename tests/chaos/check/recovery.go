package check

import (
	"time"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Recovery checks that after every heal the cluster became healthy by itself within the
// bound the nemesis waited, and returns the recovery times.
func Recovery(events []history.Event) (*Result, []time.Duration) {
	r := newResult("recovery")
	var times []time.Duration
	for _, e := range history.NemesisEvents(events) {
		switch e.F {
		case history.Recovered:
			r.Checked++
			times = append(times, time.Duration(e.Millis)*time.Millisecond)
		case history.Unrecovered:
			r.Checked++
			r.addf("after %s healed at %s: not healthy after %s: %s", e.Fault, ms(e.Time),
				time.Duration(e.Millis)*time.Millisecond, e.Description)
		}
	}
	return r, times
}
