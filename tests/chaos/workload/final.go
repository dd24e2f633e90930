package workload

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aisfoundry/ais/tests/chaos/history"
)

// Final reads every key once more after the faults are healed, through the given clients
// (processes named "final-N"), retrying each key until it gets an answer that settles it: the
// object's bytes, ObjectNotFound, or Corrupt. Then each client lists prefix once. It returns
// the keys it could not settle before ctx ended.
func Final(ctx context.Context, clients []*Client, keys []string, prefix string) []string {
	work := make(chan string)
	var mu sync.Mutex
	var unsettled []string
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range work {
				if !settle(ctx, func() history.Event { return c.Get(ctx, key) }) {
					mu.Lock()
					unsettled = append(unsettled, key)
					mu.Unlock()
				}
			}
			settle(ctx, func() history.Event { return c.List(ctx, prefix) })
		}()
	}
	for _, k := range keys {
		select {
		case work <- k:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	sort.Strings(unsettled)
	return unsettled
}

func settle(ctx context.Context, try func() history.Event) bool {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		e := try()
		if e.Type == history.OK || e.Code == "Corrupt" {
			return true
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	return false
}

// FinalName is the process name of the i-th final reader; checkers recognize the prefix.
func FinalName(i int) string { return fmt.Sprintf("%s-%d", FinalPrefix, i) }

// FinalPrefix starts the names of the processes that read after the heal.
const FinalPrefix = "final"
